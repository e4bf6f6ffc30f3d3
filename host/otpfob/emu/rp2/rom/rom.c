/*
 * otpfob stand-in RP2040 bootrom: memory and flash functions (see rom.S).
 * Built freestanding; no libgcc calls (no division) so it fits in the ROM
 * alone.  Flash on rp2040js is a plain array behind the XIP window, and it
 * accepts stores: erase writes 0xFF, program ANDs data in as NOR flash does.
 */
#include <stdint.h>

#define XIP_BASE 0x10000000u

uint8_t *rom_memset(uint8_t *ptr, uint8_t c, uint32_t n) {
    volatile uint8_t *p = ptr;
    while (n--) *p++ = c;
    return ptr;
}

uint32_t *rom_memset4(uint32_t *ptr, uint8_t c, uint32_t n) {
    volatile uint32_t *p = ptr;
    uint32_t w = c * 0x01010101u;
    for (; n >= 4; n -= 4) *p++ = w;
    return ptr;
}

uint8_t *rom_memcpy(uint8_t *dest, const uint8_t *src, uint32_t n) {
    volatile uint8_t *d = dest;
    if ((((uintptr_t)dest | (uintptr_t)src) & 3) == 0) {
        volatile uint32_t *dw = (volatile uint32_t *)dest;
        const uint32_t *sw = (const uint32_t *)src;
        for (; n >= 4; n -= 4) *dw++ = *sw++;
        d = (volatile uint8_t *)dw;
        src = (const uint8_t *)sw;
    }
    while (n--) *d++ = *src++;
    return dest;
}

uint32_t *rom_memcpy44(uint32_t *dest, const uint32_t *src, uint32_t n) {
    volatile uint32_t *d = dest;
    for (; n >= 4; n -= 4) *d++ = *src++;
    return dest;
}

void rom_flash_range_erase(uint32_t addr, uint32_t count, uint32_t block_size, uint8_t block_cmd) {
    (void)block_size;
    (void)block_cmd;
    volatile uint32_t *p = (volatile uint32_t *)(XIP_BASE + (addr & ~3u));
    for (uint32_t i = 0; i < count; i += 4) *p++ = 0xffffffffu;
}

void rom_flash_range_program(uint32_t addr, const uint8_t *data, uint32_t count) {
    if (((addr | count) & 3) == 0) {
        volatile uint32_t *p = (volatile uint32_t *)(XIP_BASE + addr);
        for (; count; count -= 4, data += 4)
            *p++ &= data[0] | (data[1] << 8) | (data[2] << 16) | ((uint32_t)data[3] << 24);
    } else {
        volatile uint8_t *p = (volatile uint8_t *)(XIP_BASE + addr);
        while (count--) *p++ &= *data++;
    }
}
