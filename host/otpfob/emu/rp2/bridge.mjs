// The emulated Pico's Node side: rp2040js running the real rp2 MicroPython
// firmware, and a thin bridge to the CPython process that owns the part
// models (otpfob/emu/rp2/pico.py).  Nothing here models a part: I2C
// transfers, the button pin and the USB CDC bytes are carried to CPython
// and back.  The emulation pauses while CPython answers an I2C event, so a
// run is deterministic for the same inputs.
//
// Usage: node bridge.mjs '<json options>'   (see pico.py: _bridge_options)
//
// Time: every nanos the bridge reports is world time since power-on, the
// chip's clock plus the time it spent dormant (XOSC stopped: rp2040js's
// clock, and so its timer and alarms, stand still while the part models'
// time goes on).
//
// Link: two blocking pipes (fds given in the options).  Every message is
// type (1 byte) + length (4 bytes, LE) + payload.
//   to CPython:   C connect  addr, mode, nanos(f64)        -> 1 byte: ACK
//                 R read     addr, first, nanos(f64)       -> 1 byte: data
//                 A adc      channel, 0, nanos(f64)        -> 2 bytes: 12-bit value (LE)
//                 W write    addr, stop, nanos(f64), data  (no reply)
//                 U usb      nanos(f64), instructions since input(f64), bytes (no reply)
//                 Y sync     JSON {nanos, instr, wait}      -> commands
//                 E event    JSON {event, ...}              (no reply)
//   commands (the reply to Y, a JSON list): see handleCommand().
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { HIDHost } from './usbhost.mjs';

const opts = JSON.parse(process.argv[2]);
const rp = await import(pathToFileURL(opts.rp2040js).href);
const { RP2040, USBCDC, LogLevel } = rp;

const FLASH_BYTES = opts.flashBytes; // the Pico's 2 MB W25Q16
const rom = fs.readFileSync(opts.bootrom);
const romExt = opts.romExt ? fs.readFileSync(opts.romExt) : null;
const LINK_IN = opts.fdIn;
const LINK_OUT = opts.fdOut;

// -- the link ------------------------------------------------------------------
let outChunks = [];
let outBytes = 0;

function send(type, payload) {
  const hdr = Buffer.alloc(5);
  hdr[0] = type.charCodeAt(0);
  hdr.writeUInt32LE(payload.length, 1);
  outChunks.push(hdr, Buffer.from(payload.buffer, payload.byteOffset, payload.length));
  outBytes += 5 + payload.length;
  if (outBytes > 65536) flush();
}

function flush() {
  if (!outBytes) return;
  const all = Buffer.concat(outChunks, outBytes);
  outChunks = [];
  outBytes = 0;
  let off = 0;
  while (off < all.length) off += fs.writeSync(LINK_OUT, all, off, all.length - off);
}

function readExact(n) {
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    const got = fs.readSync(LINK_IN, buf, off, n - off, null);
    if (got === 0) process.exit(0); // CPython went away: power off
    off += got;
  }
  return buf;
}

function ask(type, payload, replyLen) {
  send(type, payload);
  flush();
  return readExact(replyLen);
}

function readReply() {
  const len = readExact(4).readUInt32LE(0);
  return JSON.parse(readExact(len).toString('utf8'));
}

const i2cMsg = Buffer.alloc(10);
function i2cHeader(a, b, nanos) {
  i2cMsg[0] = a;
  i2cMsg[1] = b;
  i2cMsg.writeDoubleLE(nanos, 2);
  return i2cMsg;
}

// -- the chip ----------------------------------------------------------------------
let mcu = null;
let cdc = null;
let hidHost = null; // the keyboard's side of the USB host (usbhost.mjs)
let cdcRead = null; // rp2040js's own OUT-endpoint handler
let pendingRead = null; // an OUT transfer the device armed while the host had nothing
let usbIn = []; // bytes from the host not yet in the CDC FIFO
let usbInHead = 0;
let instr = 0; // instructions executed since power-on
let waitNanos = 0; // emulated time spent in WFI/WFE since power-on
let resetRequested = false;
let inputInstr = -1; // instruction count when host bytes last arrived
let flashOps = []; // instructions after that input at which a ROM flash erase/program began
const flashFuncs = opts.flashFuncs || []; // [start, end) of the ROM's erase and program
const flashEntry = new Set(flashFuncs.map(([start]) => start));
let i2cAlarm = null;
let i2cNext = null;
// Power states (RP2040 datasheet 2.11, 2.16): instructions run at clk_sys,
// WFI/WFE with the clocks on (waitNanos), dormant (XOSC stopped).
let runNanos = 0; // emulated time spent executing instructions since power-on
let dormant = false; // XOSC DORMANT written and not yet woken
let dormantNanos = 0; // world time the chip's clock stood still since power-on
let wakeAt = null; // world time the XOSC is stable again after a wake
let wakePin = -1; // the GPIO whose wake condition ended the last dormant spell
let dormantEntries = 0;
let pinQueue = []; // pin changes at world instants: {at, pin, value, usb}
let pinAlarm = null;
let usbAttached = true; // the USB host is there (VBUS present)
let usbReady = true; // ... and has configured the device since it came (host bytes flow)
let dormantWake = null; // IO_BANK0 DORMANT_WAKE_INTE/INTF per GPIO, and latched edges
const VBUS_PIN = opts.vbusPin ?? 24;
const world = () => mcu.clock.nanos + dormantNanos;

function stderrLogger() {
  const out = (level) => (name, msg) => {
    if (level >= (opts.logLevel ?? 2)) fs.writeSync(2, `[rp2040js ${name}] ${msg}\n`);
  };
  return { debug: out(0), info: out(1), warn: out(2), error: out(3) };
}

function powerOn(flashImage) {
  mcu = new RP2040();
  mcu.logger = stderrLogger();
  mcu.loadBootrom(new Uint32Array(rom.buffer, rom.byteOffset, rom.length >> 2));
  // loadBootrom() resets the chip, which erases the flash array: load after.
  if (flashImage) mcu.flash.set(flashImage.subarray(0, FLASH_BYTES));
  if (romExt) mcu.flash.set(romExt, opts.romExtOffset);
  instr = 0;
  waitNanos = 0;
  runNanos = 0;
  dormant = false;
  dormantNanos = 0;
  wakeAt = null;
  dormantEntries = 0;
  pinQueue = [];
  usbAttached = opts.usb ?? true;
  usbReady = true;
  inputInstr = -1;
  flashOps = [];
  cutAtFlashOp = null;
  cutAfterInput = null;
  resetRequested = false;
  pendingRead = null;
  usbIn = [];
  usbInHead = 0;
  wireI2C();
  hidHost = new HIDHost(mcu, event, world);
  hidHost.watchPullup(reconnectUSB);
  wireUSB();
  wireDormant();
  wireADC();
  pinAlarm = mcu.clock.createAlarm(() => {
    applyDuePins();
    schedulePins();
  });
  mcu.peripherals[0x40058].onWatchdogTrigger = () => {
    resetRequested = true;
  };
  // Our ROM's reset_usb_boot (machine.bootloader()) spins on a BKPT:
  // report the first one of a power-on only (pico.py then shows BOOTSEL).
  let breaks = 0;
  mcu.onBreak = (code) => {
    if (breaks++ === 0) event({ event: 'break', code, pc: mcu.core.PC });
  };
  for (const [pin, value] of Object.entries(opts.pins || {})) mcu.gpio[pin].setInputValue(!!value);
  mcu.gpio[VBUS_PIN].setInputValue(usbAttached);
  mcu.core.PC = opts.resetPC ?? mcu.core.PC;
}

function event(obj) {
  send('E', Buffer.from(JSON.stringify(obj)));
}

// -- I2C0: transfers go to the CPython bus model ----------------------------------------
function wireI2C() {
  const i2c = mcu.i2c[opts.i2c ?? 0];
  const clock = mcu.clock;
  let addr = -1;
  let writing = false;
  let firstRead = true;
  let data = [];
  i2cAlarm = clock.createAlarm(() => {
    const f = i2cNext;
    i2cNext = null;
    f();
  });
  // Bits on the wire at the bus frequency the firmware set (SCL high + low
  // periods in clk_sys cycles); completing an event later charges that time.
  const later = (bits, f) => {
    if (!opts.wireTime) return f();
    const period = i2c.sclLowPeriod + i2c.sclHighPeriod;
    const bitNanos = period > 0 ? (period * 1e9) / mcu.clkSys : 2500;
    i2cNext = f;
    i2cAlarm.schedule(bits * bitNanos);
  };
  const flushWrite = (stop) => {
    if (!writing) return;
    const hdr = i2cHeader(addr, stop ? 1 : 0, world());
    const buf = Buffer.alloc(10 + data.length);
    hdr.copy(buf, 0);
    for (let k = 0; k < data.length; k++) buf[10 + k] = data[k];
    send('W', buf);
    writing = false;
    data = [];
  };
  i2c.onStart = (repeated) => {
    if (repeated) flushWrite(false);
    later(1, () => i2c.completeStart());
  };
  i2c.onConnect = (address, mode) => {
    addr = address;
    const ack = ask('C', i2cHeader(address, mode, world()), 1)[0] === 1;
    writing = ack && mode === 0;
    firstRead = true;
    data = [];
    later(9, () => i2c.completeConnect(ack));
  };
  i2c.onWriteByte = (value) => {
    data.push(value);
    later(9, () => i2c.completeWrite(true));
  };
  i2c.onReadByte = () => {
    const value = ask('R', i2cHeader(addr, firstRead ? 1 : 0, world()), 1)[0];
    firstRead = false;
    later(9, () => i2c.completeRead(value));
  };
  i2c.onStop = () => {
    flushWrite(true);
    later(1, () => i2c.completeStop());
  };
}

// -- USB CDC: the host's serial port ------------------------------------------------------
function wireUSB() {
  cdc = new USBCDC(mcu.usbCtrl);
  hidHost.attach(cdc);
  cdc.onDeviceConnected = () => {
    usbReady = true;
    event({ event: 'usb', nanos: world() });
    feedFIFO();
  };
  cdc.onSerialData = (buffer) => {
    if (!usbAttached) return; // no host on the wire: the bytes go nowhere
    const msg = Buffer.alloc(16 + buffer.length);
    msg.writeDoubleLE(world(), 0);
    msg.writeDoubleLE(inputInstr >= 0 ? instr - inputInstr : -1, 8);
    msg.set(buffer, 16);
    send('U', msg);
  };
  cdcRead = mcu.usbCtrl.onEndpointRead;
  // A real host controller answers an armed OUT endpoint only when it has
  // data; rp2040js answers at once with an empty packet, which keeps the
  // USB interrupt busy forever and the core from ever sleeping.
  mcu.usbCtrl.onEndpointRead = (endpoint, size) => {
    if (endpoint === cdc.outEndpoint) {
      feedFIFO();
      if (cdc.txFIFO.empty) {
        pendingRead = [endpoint, size];
        return;
      }
    }
    cdcRead(endpoint, size);
    feedFIFO();
  };
}

// The device dropped its pull-up and raised it again (machine.USBDevice
// re-enumerating): a host enumerates it again from the start.
function reconnectUSB() {
  if (!usbAttached) return;
  pendingRead = null;
  // Host bytes the device had not read yet wait for the new enumeration
  // (the pty stays open here, where a real port would close).
  const unread = [];
  while (cdc && !cdc.txFIFO.empty) unread.push(cdc.txFIFO.pull());
  usbIn = unread.concat(usbIn.slice(usbInHead));
  usbInHead = 0;
  wireUSB();
  mcu.usbCtrl.resetDevice();
}

function feedFIFO() {
  if (!usbAttached || !usbReady) return;
  // The CDC's FIFO holds 512 bytes and drops the rest: fill it only while it has room.
  while (usbInHead < usbIn.length && !cdc.txFIFO.full) cdc.sendSerialByte(usbIn[usbInHead++]);
  if (usbInHead === usbIn.length) {
    usbIn = [];
    usbInHead = 0;
  }
  if (pendingRead && !cdc.txFIFO.empty) {
    const [endpoint, size] = pendingRead;
    pendingRead = null;
    cdcRead(endpoint, size);
  }
}

// -- pins at world instants (the chip's clock stands still while dormant) ----------------
function applyPin(change) {
  const gpio = mcu.gpio[change.pin];
  const was = gpio.rawInputValue;
  gpio.setInputValue(change.value);
  if (was !== change.value) dormantWake.edges[change.pin] |= change.value ? WAKE_EDGE_HIGH : WAKE_EDGE_LOW;
  if (change.usb) setUsbAttached(change.value);
}

function applyDuePins() {
  while (pinQueue.length && pinQueue[0].at <= world()) applyPin(pinQueue.shift());
}

function schedulePins() {
  pinAlarm.cancel();
  if (pinQueue.length && !dormant) pinAlarm.schedule(Math.max(0, pinQueue[0].at - world()));
}

function setUsbAttached(attached) {
  if (attached === usbAttached) return;
  usbAttached = attached;
  event({ event: attached ? 'plug' : 'unplug', nanos: world() });
  if (attached) {
    // A host finding a device: bus reset and enumeration from the start;
    // its serial port opens once the device is configured.
    usbReady = false;
    pendingRead = null;
    wireUSB();
    mcu.usbCtrl.resetDevice();
  } else {
    usbIn = [];
    usbInHead = 0;
    pendingRead = null;
  }
}

// -- dormant: XOSC DORMANT (datasheet 2.16.7) and IO_BANK0 DORMANT_WAKE (2.19.6) ----------
const WAKE_LEVEL_LOW = 1;
const WAKE_LEVEL_HIGH = 2;
const WAKE_EDGE_LOW = 4;
const WAKE_EDGE_HIGH = 8;
const XOSC_DORMANT_VALUE = 0x636f6d61; // "coma"
const IO_INTR0 = 0xf0;
const IO_DORMANT_WAKE_INTE0 = 0x160;
const IO_DORMANT_WAKE_INTF0 = 0x170;
const IO_DORMANT_WAKE_INTS0 = 0x180;
const IO_DORMANT_WAKE_END = 0x190;

function wireDormant() {
  const pins = mcu.gpio.length;
  dormantWake = { inte: new Uint8Array(pins), intf: new Uint8Array(pins), edges: new Uint8Array(pins) };
  const xosc = mcu.peripherals[0x40024];
  const xoscWrite = xosc.writeUint32.bind(xosc);
  xosc.writeUint32 = (offset, value) => {
    xoscWrite(offset, value);
    if (offset === 0x08 && value === XOSC_DORMANT_VALUE) {
      dormant = true;
      wakeAt = null;
      dormantEntries++;
      schedulePins();
      event({ event: 'dormant', nanos: world() });
    }
  };
  const io = mcu.peripherals[0x40014];
  const ioRead = io.readUint32.bind(io);
  const ioWrite = io.writeUint32.bind(io);
  // INTR holds the levels and the latched edges, shared by the processors'
  // and the dormant wake's enables.
  const raw = (pin) =>
    (mcu.gpio[pin].rawInputValue ? WAKE_LEVEL_HIGH : WAKE_LEVEL_LOW) | dormantWake.edges[pin];
  const nibbles = (offset, f) => {
    const first = ((offset & 0xf) >> 2) * 8;
    let v = 0;
    for (let k = 0; k < 8 && first + k < pins; k++) v |= f(first + k) << (4 * k);
    return v >>> 0;
  };
  io.readUint32 = (offset) => {
    if (offset < IO_DORMANT_WAKE_INTE0 || offset >= IO_DORMANT_WAKE_END) return ioRead(offset);
    const bank = offset & ~0xf;
    if (bank === IO_DORMANT_WAKE_INTE0) return nibbles(offset, (p) => dormantWake.inte[p]);
    if (bank === IO_DORMANT_WAKE_INTF0) return nibbles(offset, (p) => dormantWake.intf[p]);
    return nibbles(offset, (p) => (raw(p) & dormantWake.inte[p]) | dormantWake.intf[p]);
  };
  io.writeUint32 = (offset, value) => {
    if (offset >= IO_INTR0 && offset < IO_INTR0 + 0x10) {
      // Write 1 to clear an edge (the raw value: not the atomic alias's result).
      const first = ((offset & 0xf) >> 2) * 8;
      for (let k = 0; k < 8 && first + k < pins; k++) {
        dormantWake.edges[first + k] &= ~((io.rawWriteValue >>> (4 * k)) & (WAKE_EDGE_LOW | WAKE_EDGE_HIGH));
      }
    }
    if (offset < IO_DORMANT_WAKE_INTE0 || offset >= IO_DORMANT_WAKE_INTS0) return ioWrite(offset, value);
    const table = (offset & ~0xf) === IO_DORMANT_WAKE_INTE0 ? dormantWake.inte : dormantWake.intf;
    const first = ((offset & 0xf) >> 2) * 8;
    for (let k = 0; k < 8 && first + k < pins; k++) table[first + k] = (value >>> (4 * k)) & 0xf;
  };
}

// The first GPIO whose enabled wake condition holds, or -1.
function dormantWakeSource() {
  const { inte, intf, edges } = dormantWake;
  for (let p = 0; p < inte.length; p++) {
    const raw = (mcu.gpio[p].rawInputValue ? WAKE_LEVEL_HIGH : WAKE_LEVEL_LOW) | edges[p];
    if ((raw & inte[p]) | intf[p]) return p;
  }
  return -1;
}

// The XOSC's startup delay once woken (STARTUP.DELAY x 256 cycles, x4 when set) at 12 MHz.
function xoscStartupNanos() {
  const startup = mcu.peripherals[0x40024].startup;
  const cycles = (startup & 0x3fff) * 256 * (startup & 0x100000 ? 4 : 1);
  return (cycles * 1e9) / 12e6;
}

function wakeUp() {
  const xosc = mcu.peripherals[0x40024];
  dormant = false;
  wakeAt = null;
  xosc.isDormant = false;
  xosc.stable = xosc.enabled;
  event({ event: 'wake', nanos: world(), pin: wakePin });
  schedulePins();
}

// -- ADC: each conversion's value comes from CPython (VSYS/3 on channel 3) -------------------
const adcMsg = Buffer.alloc(10);
function wireADC() {
  const adc = mcu.adc;
  adc.onADCRead = (channel) => {
    adcMsg[0] = channel;
    adcMsg[1] = 0;
    adcMsg.writeDoubleLE(world(), 2);
    const value = ask('A', adcMsg, 2).readUInt16LE(0);
    adc.currentChannel = channel;
    adc.channelValues[channel] = value;
    adc.sampleAlarm.schedule(adc.sampleTime * 1000);
  };
}

// -- the run loop ---------------------------------------------------------------------------
let untilNanos = 0;
let cutAt = Infinity; // power cut at this instruction count
let cutAfterInput = null; // instructions, or {flashOp: n, plus: k}: k after the n-th erase/program begins
let cutAtFlashOp = null;
// OTPFOB_RP2_PROFILE=file: PC samples (one per 997 instructions), written at power-off;
// with OTPFOB_RP2_PROFILE_MS=n, keyed by (n ms of emulated time since power-on) * 2^32 + PC.
const profile = process.env.OTPFOB_RP2_PROFILE ? new Map() : null;
const profileMs = Number(process.env.OTPFOB_RP2_PROFILE_MS || 0);
let running = false;

function saveFlash(path) {
  const tmp = path + '.tmp';
  fs.writeFileSync(tmp, mcu.flash.subarray(0, FLASH_BYTES));
  fs.renameSync(tmp, path);
}

function handleCommand(cmd) {
  switch (cmd.op) {
    case 'run': // run until this emulated time (nanos since power-on)
      untilNanos = cmd.until;
      break;
    case 'input': // bytes from the host, base64 (none reach an unplugged device)
      if (!usbAttached) break;
      for (const b of Buffer.from(cmd.data, 'base64')) usbIn.push(b);
      inputInstr = instr;
      flashOps = [];
      if (cutAfterInput !== null) {
        if (cutAfterInput.flashOp !== undefined) cutAtFlashOp = cutAfterInput;
        else cutAt = instr + cutAfterInput;
        cutAfterInput = null;
      }
      if (mcu) feedFIFO();
      break;
    case 'pin': // a GPIO input level at a world instant (nanos since power-on)
    case 'usb': { // the USB cable: VBUS on its pin, and the host
      if (cmd.op === 'usb') opts.usb = !!cmd.value;
      else opts.pins = { ...(opts.pins || {}), [cmd.pin]: cmd.value };
      if (!mcu) break;
      const change = { at: cmd.at ?? 0, pin: cmd.op === 'usb' ? VBUS_PIN : cmd.pin, value: !!cmd.value,
                       usb: cmd.op === 'usb' };
      let k = pinQueue.length;
      while (k > 0 && pinQueue[k - 1].at > change.at) k--;
      pinQueue.splice(k, 0, change);
      applyDuePins();
      schedulePins();
      break;
    }
    case 'cut': // a power cut once this many instructions have run ...
      if (cmd.afterInput !== undefined) cutAfterInput = cmd.afterInput; // ... after the next host input
      else if (cmd.flashOp !== undefined) cutAfterInput = { flashOp: cmd.flashOp, plus: cmd.plus };
      else cutAt = cmd.instr;
      break;
    case 'power_on': {
      const image = cmd.flash && fs.existsSync(cmd.flash) ? fs.readFileSync(cmd.flash) : null;
      powerOn(image);
      running = true;
      cutAt = Infinity;
      untilNanos = 0;
      break;
    }
    case 'power_off': { // the power goes: keep the flash as it is at this instant
      if (running && cmd.flash) saveFlash(cmd.flash);
      if (profile) fs.writeFileSync(process.env.OTPFOB_RP2_PROFILE, JSON.stringify([...profile]));
      const pc = mcu ? mcu.core.PC >>> 0 : 0;
      const inFlashOp = flashFuncs.some(([a, b]) => pc >= a && pc < b);
      event({ event: 'off', nanos: mcu ? world() : 0, instr, pc, inFlashOp, dormant,
              sinceInput: inputInstr >= 0 ? instr - inputInstr : -1 });
      running = false;
      mcu = null;
      break;
    }
    case 'save':
      if (mcu) saveFlash(cmd.flash);
      event({ event: 'saved' });
      break;
    case 'quit':
      flush();
      process.exit(0);
  }
}

function sync() {
  const state = mcu
    ? { nanos: world(), instr, wait: waitNanos, run: runNanos, dormantNanos, dormant,
        dormantEntries, clkSys: mcu.clkSys, waiting: mcu.core.waiting,
        sinceInput: inputInstr >= 0 ? instr - inputInstr : -1, flashOps }
    : { nanos: 0, instr: 0, wait: 0, off: true };
  send('Y', Buffer.from(JSON.stringify(state)));
  flush();
  for (const cmd of readReply()) handleCommand(cmd);
}

function runSlice() {
  const core = mcu.core;
  const clock = mcu.clock;
  let clkSys = mcu.clkSys;
  let cycleNanos = 1e9 / clkSys;
  while (world() < untilNanos) {
    if (resetRequested) {
      // machine.reset() fires the watchdog: the chip restarts from its flash.
      const image = Uint8Array.from(mcu.flash.subarray(0, FLASH_BYTES));
      const nanos = world();
      powerOn(image);
      event({ event: 'reset', reason: 'watchdog', nanos });
      return;
    }
    if (dormant) {
      // Nothing runs and the chip's clock stands still; world time goes on
      // to the next pin change, the XOSC's restart or the end of the slice.
      applyDuePins();
      if (wakeAt === null && (wakePin = dormantWakeSource()) >= 0) wakeAt = world() + xoscStartupNanos();
      if (wakeAt !== null && world() >= wakeAt) {
        wakeUp();
        return; // a sync now: CPython gives short slices to a running chip
      }
      const stop = Math.min(untilNanos, wakeAt ?? Infinity, pinQueue.length ? pinQueue[0].at : Infinity);
      if (stop > world()) dormantNanos += stop - world();
      continue;
    }
    if (core.waiting) {
      // WFI/WFE: skip to the next timer alarm; an interrupt clears waiting.
      const left = untilNanos - world();
      const step = clock.nextAlarm ? Math.min(Math.max(clock.nanosToNextAlarm, 0), left) : left;
      clock.tick(step);
      waitNanos += step;
    } else {
      if (instr >= cutAt) return;
      if (profile && instr % 997 === 0) {
        const key = profileMs ? Math.floor(world() / 1e6 / profileMs) * 4294967296 + (core.PC >>> 0) : core.PC;
        profile.set(key, (profile.get(key) || 0) + 1);
      }
      if (flashEntry.size && flashEntry.has(core.PC) && inputInstr >= 0) {
        flashOps.push(instr - inputInstr);
        if (cutAtFlashOp && flashOps.length - 1 === cutAtFlashOp.flashOp) {
          cutAt = instr + cutAtFlashOp.plus;
          cutAtFlashOp = null;
        }
      }
      const cycles = core.executeInstruction();
      instr++;
      if (mcu.clkSys !== clkSys) {
        clkSys = mcu.clkSys;
        cycleNanos = 1e9 / clkSys;
      }
      runNanos += cycles * cycleNanos;
      clock.tick(cycles * cycleNanos);
      if (dormant) return; // a sync now: CPython may give a dormant chip a long slice
    }
  }
}

// Power is off until CPython says otherwise; it drives everything from here.
for (;;) {
  sync();
  if (!running) continue;
  if (instr >= cutAt) {
    handleCommand({ op: 'power_off', flash: opts.flash });
    continue;
  }
  runSlice();
}
