// The emulated Pico's USB host for the token's keyboard (issue 25), beside
// rp2040js's USBCDC, which enumerates the device and runs its serial.
//
// - The configuration descriptor USBCDC read is parsed here: the HID
//   interface (class 3) and its interrupt IN endpoint, if the device has one.
// - Once USBCDC has configured the device and set the CDC's line state, this
//   host asks the HID interface for its report descriptor and sends SET_IDLE
//   (0), as Linux's usbhid does, and reports {event: 'hid_ready'}.
// - The interrupt IN endpoint is polled every bInterval frames (1 ms each):
//   rp2040js would take a report at once, so the completion the device sees
//   is held until the next poll, and each report goes to CPython as
//   {event: 'hid', nanos, report} at that instant (pico.py decodes them).
// - A device that drops its D+ pull-up and raises it again (machine.USBDevice
//   re-enumerating, as a runtime device does) is enumerated again from the
//   start, as a real host does after the disconnect.
//
// Only the hooks are in bridge.mjs: attachHID(cdc) after each new USBCDC, and
// watchPullup() once per power-on.

const SIE_CTRL_PULLUP_EN = 1 << 16;
const DESC_INTERFACE = 4;
const DESC_ENDPOINT = 5;
const DESC_REPORT = 0x22;
const CLASS_HID = 3;
const HID_SET_IDLE = 0x0a;
const STD_GET_DESCRIPTOR = 6;

// The HID interfaces of a configuration descriptor: [{itf, ep, interval, subclass, protocol}]
export function hidInterfaces(desc) {
  const out = [];
  let cur = null;
  for (let i = 0; i + 1 < desc.length && desc[i] >= 2; i += desc[i]) {
    const type = desc[i + 1];
    if (type === DESC_INTERFACE) {
      cur = desc[i + 5] === CLASS_HID ? { itf: desc[i + 2], subclass: desc[i + 6], protocol: desc[i + 7], ep: -1 } : null;
      if (cur) out.push(cur);
    } else if (type === DESC_ENDPOINT && cur && cur.ep < 0 && desc[i + 2] & 0x80 && (desc[i + 3] & 3) === 3) {
      cur.ep = desc[i + 2] & 0x0f;
      cur.interval = desc[i + 6];
    }
  }
  return out;
}

function setup(bmRequestType, bRequest, wValue, wIndex, wLength) {
  return new Uint8Array([
    bmRequestType, bRequest, wValue & 0xff, wValue >> 8, wIndex & 0xff, wIndex >> 8, wLength & 0xff, wLength >> 8,
  ]);
}

export class HIDHost {
  // event(obj): to CPython; world(): world nanos
  constructor(mcu, event, world) {
    this.mcu = mcu;
    this.event = event;
    this.world = world;
    this.hid = null;
    this.phase = 0; // 0: waiting for USBCDC; 1: report descriptor asked; 2: SET_IDLE sent; 3: ready
    this.reportDesc = [];
    this.pollAlarm = mcu.clock.createAlarm(() => this.poll());
    this.pollDue = false; // a report waits for the next poll
    this.pollNanos = 0;
    const usb = mcu.usbCtrl;
    const ready = usb.indicateBufferReady.bind(usb);
    this.ready = ready;
    usb.indicateBufferReady = (endpoint, out) => {
      if (!out && this.hid && endpoint === this.hid.ep) {
        // Held until the host's next poll of the endpoint.
        const period = Math.max(1, this.hid.interval) * 1e6;
        const wait = period - (this.world() % period);
        this.pollDue = true;
        this.pollNanos = this.world() + wait;
        this.pollAlarm.schedule(wait);
        return;
      }
      ready(endpoint, out);
    };
  }

  poll() {
    if (!this.pollDue) return;
    this.pollDue = false;
    this.ready(this.hid.ep, false);
  }

  // After each new USBCDC (a new enumeration): follow its endpoint writes.
  attach(cdc) {
    this.hid = null;
    this.phase = 0;
    this.pollDue = false;
    this.pollAlarm.cancel();
    const usb = this.mcu.usbCtrl;
    const cdcWrite = usb.onEndpointWrite;
    usb.onEndpointWrite = (endpoint, buffer) => {
      if (endpoint === 0 && this.phase > 0 && this.phase < 3) return this.control(buffer);
      const lineStateSent = cdc.initialized;
      cdcWrite(endpoint, buffer);
      if (this.hid && endpoint === this.hid.ep && endpoint !== 0) {
        this.event({ event: 'hid', nanos: this.pollNanos, report: Array.from(buffer) });
        return;
      }
      if (endpoint !== 0 || this.phase !== 0 || !lineStateSent || buffer.length) return;
      // USBCDC has configured the device and set the line state; this is
      // that request's status stage: the HID interface's turn.
      const found = hidInterfaces(cdc.descriptors);
      if (!found.length || found[0].ep < 0) return;
      this.hid = found[0];
      this.configDesc = cdc.descriptors;
      this.phase = 1;
      this.reportDesc = [];
      usb.sendSetupPacket(setup(0x81, STD_GET_DESCRIPTOR, DESC_REPORT << 8, this.hid.itf, 255));
    };
  }

  control(buffer) {
    const usb = this.mcu.usbCtrl;
    if (this.phase === 1) {
      if (buffer.length) {
        this.reportDesc.push(...buffer);
        if (buffer.length === 64) return; // more packets follow
      }
      this.phase = 2;
      usb.sendSetupPacket(setup(0x21, HID_SET_IDLE, 0, this.hid.itf, 0));
    } else if (this.phase === 2 && buffer.length === 0) {
      this.phase = 3;
      this.event({
        event: 'hid_ready',
        nanos: this.world(),
        itf: this.hid.itf,
        ep: this.hid.ep,
        interval: this.hid.interval,
        subclass: this.hid.subclass,
        protocol: this.hid.protocol,
        report_descriptor: this.reportDesc,
        config: Array.from(this.configDesc ?? []),
      });
    }
  }

  // Once per power-on: a pull-up dropped and raised again is a new device.
  watchPullup(reconnect) {
    const usb = this.mcu.usbCtrl;
    const write = usb.handleSieCtrlWrite.bind(usb);
    let on = false;
    let dropped = false;
    usb.handleSieCtrlWrite = (value) => {
      write(value);
      const now = !!(value & SIE_CTRL_PULLUP_EN);
      if (on && !now) {
        dropped = true;
        this.event({ event: 'usb_disconnect', nanos: this.world() });
      } else if (!on && now && dropped) {
        dropped = false;
        reconnect();
      }
      on = now;
    };
  }
}
