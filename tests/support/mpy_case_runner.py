# Runs inside MicroPython (Unix port or the emulated M0): computes the cases
# given as lines "KIND ALG DIGITS PERIOD N KEYHEX" on one forced path and
# prints "index code" per case ("index ValueError" for refused arguments).
import binascii

from fob import otp


def run(path, lines, first=0):
    otp.use_path(path)
    out = []
    i = first
    for ln in lines:
        kind, alg, digits, period, n, keyhex = ln.split()
        key = b"" if keyhex == "-" else binascii.unhexlify(keyhex)
        try:
            if not otp.path_for(alg) and kind[0] != "E":
                out.append("%d skip" % i)
            elif kind in ("H", "EH"):
                out.append("%d %s" % (i, otp.hotp(key, int(n), int(digits), alg)))
            else:
                out.append("%d %s" % (i, otp.totp(key, int(n), int(digits), int(period), alg)))
        except ValueError:
            out.append("%d ValueError" % i)
        i += 1
    otp.use_path(None)
    print("\n".join(out))


def main(argv):
    # Unix port: micropython mpy_case_runner.py PATH CASEFILE
    with open(argv[2]) as f:
        lines = [ln for ln in f.read().split("\n") if ln]
    run(argv[1], lines)


if __name__ == "__main__":
    import sys

    main(sys.argv)
