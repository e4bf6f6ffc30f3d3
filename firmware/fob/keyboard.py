# The token as a USB keyboard beside its serial port (issue 25): a HID boot
# keyboard interface of our own on machine.USBDevice, the port's CDC kept
# through builtin_driver.  Imported only where machine.USBDevice exists
# (fob.app), so the Unix port and ports without runtime USB never load it.
#
# The device: the port's own device descriptor (class EF/02/01: interface
# association, which Windows needs to bind the CDC pair to one driver), its
# configuration descriptor with the CDC's IAD and two interfaces, then ours:
# interface itf_max, class 3 (HID), subclass 1 (boot), protocol 1 (keyboard),
# one interrupt IN endpoint (ep_max | 0x80).  Boot protocol reports (HID 1.11
# appendix B.1): 8 bytes, modifiers, reserved, six key usages.  Report
# descriptor: appendix E.6's keyboard, so the boot and report protocols send
# the same bytes (BIOSes and hosts that set neither both read it).
#
# Layouts (docs/protocol.md "Settings", `layout`): a host turns key usages
# into characters with its own keyboard layout, which the token cannot read.
# Top-row digits are the same key under US and German; French AZERTY needs
# Shift for them.  Keypad usages would need NumLock on, which macOS does not
# have (its 0x53 is Clear) and which the token could only toggle, so the
# layout is a setting and the top row is typed.
#
# Typing is event-driven: type() fills one buffer with press/release report
# pairs and submits the first; each completed transfer (xfer_cb, the
# TinyUSB task) submits the next, so the main loop never waits for the host.

try:
    from micropython import const
except ImportError:  # CPython, for the tests

    def const(x):
        return x


_CLASS_HID = const(3)
_REQ_GET_REPORT = const(0x01)
_REQ_GET_IDLE = const(0x02)
_REQ_GET_PROTOCOL = const(0x03)
_REQ_SET_REPORT = const(0x09)
_REQ_SET_IDLE = const(0x0A)
_REQ_SET_PROTOCOL = const(0x0B)
_REQ_GET_DESCRIPTOR = const(0x06)
_DESC_HID = const(0x21)
_DESC_REPORT = const(0x22)
_STAGE_SETUP = const(1)
_STAGE_ACK = const(3)
INTERVAL_MS = const(1)  # bInterval: the host polls the key reports every ms (full speed)
REPORT_LEN = const(8)
MAX_KEYS = const(11)  # 10 digits and Enter
SHIFT = const(0x02)  # left Shift, modifier bit 1
ENTER = const(0x28)

# HID 1.11 appendix E.6: the boot keyboard's report descriptor.
REPORT_DESCRIPTOR = bytes(
    (
        0x05, 0x01,  # Usage Page (Generic Desktop)
        0x09, 0x06,  # Usage (Keyboard)
        0xA1, 0x01,  # Collection (Application)
        0x05, 0x07,  #   Usage Page (Key Codes)
        0x19, 0xE0,  #   Usage Minimum (224)
        0x29, 0xE7,  #   Usage Maximum (231)
        0x15, 0x00,  #   Logical Minimum (0)
        0x25, 0x01,  #   Logical Maximum (1)
        0x75, 0x01,  #   Report Size (1)
        0x95, 0x08,  #   Report Count (8)
        0x81, 0x02,  #   Input (Data, Variable, Absolute): modifier byte
        0x95, 0x01,  #   Report Count (1)
        0x75, 0x08,  #   Report Size (8)
        0x81, 0x01,  #   Input (Constant): reserved byte
        0x95, 0x05,  #   Report Count (5)
        0x75, 0x01,  #   Report Size (1)
        0x05, 0x08,  #   Usage Page (LEDs)
        0x19, 0x01,  #   Usage Minimum (1)
        0x29, 0x05,  #   Usage Maximum (5)
        0x91, 0x02,  #   Output (Data, Variable, Absolute): LED report
        0x95, 0x01,  #   Report Count (1)
        0x75, 0x03,  #   Report Size (3)
        0x91, 0x01,  #   Output (Constant): LED report padding
        0x95, 0x06,  #   Report Count (6)
        0x75, 0x08,  #   Report Size (8)
        0x15, 0x00,  #   Logical Minimum (0)
        0x25, 0x65,  #   Logical Maximum (101)
        0x05, 0x07,  #   Usage Page (Key Codes)
        0x19, 0x00,  #   Usage Minimum (0)
        0x29, 0x65,  #   Usage Maximum (101)
        0x81, 0x00,  #   Input (Data, Array): key array (6 bytes)
        0xC0,  # End Collection
    )
)  # fmt: skip

# Layout -> the modifier the top row's digit keys need (HID Usage Tables 10:
# 0x1E..0x26 are 1..9, 0x27 is 0, under every layout's key positions).
LAYOUTS = {
    "us": 0,
    "de": 0,  # QWERTZ: the digits unshifted, as US
    "fr": SHIFT,  # AZERTY: & é " ' ( - è _ ç à unshifted, the digits with Shift
}


def usage(digit):
    """The top-row key of a digit character."""
    n = ord(digit) - 48
    return 0x27 if n == 0 else 0x1D + n


def hid_descriptor():
    """HID 1.11 6.2.1: bcdHID 1.11, no country, one report descriptor."""
    n = len(REPORT_DESCRIPTOR)
    return bytes((9, _DESC_HID, 0x11, 0x01, 0, 1, _DESC_REPORT, n & 0xFF, n >> 8))


def interface_descriptors(itf, ep):
    """Our interface, its HID descriptor and its interrupt IN endpoint."""
    return (
        bytes((9, 4, itf, 0, 1, _CLASS_HID, 1, 1, 0))
        + hid_descriptor()
        + bytes((7, 5, ep, 3, REPORT_LEN, 0, INTERVAL_MS))
    )


def config_descriptor(builtin_cfg, itf, ep):
    """The port's configuration descriptor (its CDC) with our interface
    added: wTotalLength and bNumInterfaces patched."""
    extra = interface_descriptors(itf, ep)
    cfg = bytearray(builtin_cfg)
    total = len(cfg) + len(extra)
    cfg[2] = total & 0xFF
    cfg[3] = total >> 8
    cfg[4] = itf + 1
    return bytes(cfg) + extra


def fill(buf, code, modifier, enter):
    """Press/release report pairs for ``code`` (+ Enter) into ``buf``; the
    number of reports."""
    n = 0
    for i in range(len(code) + (1 if enter else 0)):
        key = usage(code[i]) if i < len(code) else ENTER
        o = n * REPORT_LEN
        for j in range(REPORT_LEN * 2):
            buf[o + j] = 0  # the release report after it: all zero
        buf[o] = modifier if i < len(code) else 0
        buf[o + 2] = key
        n += 2
    return n


class Keyboard:
    """The composite device, built once at boot; ``type()`` while ``ready``."""

    def __init__(self):
        import machine

        usbd = machine.USBDevice()
        builtin = usbd.BUILTIN_CDC
        self._itf = builtin.itf_max
        self._ep = builtin.ep_max | 0x80
        self._usbd = usbd
        self._buf = bytearray(REPORT_LEN * 2 * MAX_KEYS)
        self._mv = memoryview(self._buf)
        self._count = 0
        self._next = 0
        self._inflight = False
        self._hid_desc = hid_descriptor()
        self._small = bytearray(REPORT_LEN)  # GET_REPORT/GET_IDLE/GET_PROTOCOL/SET_REPORT data
        self.ready = False  # the host configured our interface
        self.protocol = 1  # report protocol until the host sets boot (0)
        self.idle = 0
        self.leds = 0  # the host's LED output report (NumLock 1, CapsLock 2, ...)
        usbd.active(False)
        usbd.builtin_driver = builtin
        usbd.config(
            builtin.desc_dev,
            config_descriptor(builtin.desc_cfg, self._itf, self._ep),
            None,
            open_itf_cb=self._open,
            reset_cb=self._reset,
            control_xfer_cb=self._control,
            xfer_cb=self._done,
        )
        usbd.active(True)

    def busy(self):
        return self._inflight or self._next < self._count

    def type(self, code, layout, enter):
        """Type ``code`` (digits) under ``layout`` (LAYOUTS), then Enter if
        ``enter``; False when the host has not configured us or a code is
        still being typed."""
        if not self.ready or self.busy() or layout not in LAYOUTS or len(code) + 1 > MAX_KEYS:
            return False
        self._count = fill(self._buf, code, LAYOUTS[layout], enter)
        self._next = 0
        return self._send()

    def _send(self):
        i = self._next
        if i >= self._count:
            return True
        try:
            ok = self._usbd.submit_xfer(self._ep, self._mv[i * REPORT_LEN : (i + 1) * REPORT_LEN])
        except OSError:
            ok = False  # the host went away (or reset us) mid-code
        if not ok:
            self._count = 0
            self._next = 0
            return False
        self._inflight = True
        self._next = i + 1
        return True

    # ---- machine.USBDevice callbacks (the TinyUSB task) ----------------------
    def _open(self, desc):
        if desc[2] == self._itf:
            self.ready = True

    def _reset(self):
        self.ready = False
        self._inflight = False
        self._count = 0
        self._next = 0
        self.protocol = 1

    def _done(self, ep, result, n):
        if ep == self._ep:
            self._inflight = False
            if result == 0:
                self._send()
            else:
                self._count = 0
                self._next = 0

    def _control(self, stage, req):
        # req: the 8-byte SETUP (bmRequestType, bRequest, wValue, wIndex, wLength)
        if req[4] | (req[5] << 8) != self._itf:
            return False
        rtype = req[0]
        breq = req[1]
        if stage != _STAGE_SETUP:
            if stage == _STAGE_ACK and rtype == 0x21 and breq == _REQ_SET_REPORT:
                self.leds = self._small[0]
            return True
        wlen = req[6] | (req[7] << 8)
        if rtype == 0x81 and breq == _REQ_GET_DESCRIPTOR:
            kind = req[3]
            if kind == _DESC_REPORT:
                return REPORT_DESCRIPTOR[:wlen]
            if kind == _DESC_HID:
                return self._hid_desc[:wlen]
            return False
        if rtype == 0xA1:
            if breq == _REQ_GET_REPORT:
                for i in range(REPORT_LEN):
                    self._small[i] = 0  # no key down between codes
                return memoryview(self._small)[: min(wlen, REPORT_LEN)]
            if breq == _REQ_GET_IDLE or breq == _REQ_GET_PROTOCOL:
                self._small[0] = self.idle if breq == _REQ_GET_IDLE else self.protocol
                return memoryview(self._small)[:1]
            return False
        if rtype == 0x21:
            if breq == _REQ_SET_IDLE:
                self.idle = req[3]
                return True
            if breq == _REQ_SET_PROTOCOL:
                self.protocol = req[2]
                return True
            if breq == _REQ_SET_REPORT and 1 <= wlen <= REPORT_LEN:
                return memoryview(self._small)[:wlen]  # the LED byte arrives in it
        return False
