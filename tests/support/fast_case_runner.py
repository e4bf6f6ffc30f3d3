# Runs inside MicroPython (Unix port or the emulated M0): feeds fob.fast's
# engines the cases given as lines and prints "index result" per case.
#   D alg datahex              -> hex of the engine's plain hash of data
#   M alg keyhex msghex        -> hex of HMAC(key, msg) by the engine
#   T digesthex digits         -> fast.truncate(digest, digits)
#   O alg keyhex counter digits-> fob.otp.OtpKey(key, alg).hotp(...) on the forced "fast" path
# "-" stands for empty hex.  Expected values are computed by the CPython test.
import binascii

from fob import fast


def _b(h):
    return b"" if h == "-" else binascii.unhexlify(h)


def run(lines, first=0):
    out = []
    i = first
    for ln in lines:
        f = ln.split()
        k = f[0]
        if k == "D":
            r = binascii.hexlify(fast.ENGINES[f[1]](b"k").digest(_b(f[2]))).decode()
        elif k == "M":
            r = binascii.hexlify(fast.ENGINES[f[1]](_b(f[2])).mac(_b(f[3]))).decode()
        elif k == "T":
            r = fast.truncate(_b(f[1]), int(f[2]))
        else:
            from fob import otp

            otp.use_path("fast")
            try:
                key = otp.OtpKey(_b(f[2]), f[1])
                r = key.hotp(int(f[3]), int(f[4])) if key.path == "fast" else "not-fast"
            finally:
                otp.use_path(None)
        out.append("%d %s" % (i, r))
        i += 1
    print("\n".join(out))


def main(argv):
    # Unix port: micropython fast_case_runner.py CASEFILE
    with open(argv[1]) as f:
        run([ln for ln in f.read().split("\n") if ln])


if __name__ == "__main__":
    import sys

    main(sys.argv)
