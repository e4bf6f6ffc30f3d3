/*
 * otpfob: a small stand-in for the RP2040 bootrom, for the rp2040js emulator.
 *
 * rp2040js ships no bootrom.  MicroPython and pico-sdk only need what is
 * here: the header at 0x10 (magic, version, table pointers), the table
 * lookup function, the function table (memory, bit, flash functions) and
 * the data table with the soft-float tables 'SF' and 'SD'.  The float
 * bodies are not in this 16 KB image: they live in "romext", linked at
 * 0x10F00000 and loaded into the emulator's flash array at 0xF00000
 * (see romext.c).  Reset skips boot2 and starts the image at 0x10000100.
 *
 * Layout rules from pico-sdk (pico/bootrom.h, bootrom_constants.h,
 * pico_float/float_init_rom_rp2040.c):
 *   0x10  'M' 'u' 0x01 version      0x14  u16 function table
 *   0x16  u16 data table             0x18  u16 rom_table_lookup (Thumb)
 *   tables: pairs of u16 (code, address), zero-terminated;
 *   the byte two before a float table holds its length in words.
 */
    .syntax unified
    .cpu cortex-m0plus
    .thumb

    .equ ROM_VERSION, 3         @ RP2040-B2: the SDK takes float tables as is
    .equ FLASH_VTOR, 0x10000100 @ the image's vector table, after boot2
    .equ PPB_VTOR, 0xe000ed08

    .macro code c1, c2
    .hword \c1 | (\c2 << 8)
    .endm

    .section .vectors, "ax"
    .global __vectors
__vectors:
    .word 0x20042000            @ initial MSP: top of SRAM
    .word reset_handler
    .word fault_handler         @ NMI
    .word fault_handler         @ HardFault
    .byte 'M', 'u', 0x01, ROM_VERSION
    .hword func_table
    .hword data_table
    .hword rom_table_lookup + 1 @ ABS16 does not add the Thumb bit

    .text
    .balign 2

    .thumb_func
    .global reset_handler
reset_handler:
    ldr r0, =FLASH_VTOR
    ldr r1, =PPB_VTOR
    str r0, [r1]
    ldmia r0!, {r1, r2}         @ r1 = initial SP, r2 = reset vector
    msr msp, r1
    bx r2

    .thumb_func
fault_handler:
    bkpt #0
    b fault_handler

/* void *rom_table_lookup(uint16_t *table, uint32_t code) */
    .thumb_func
    .global rom_table_lookup
rom_table_lookup:
1:  ldrh r2, [r0]
    cmp r2, r1
    beq 2f
    adds r0, #4
    cmp r2, #0
    bne 1b
    movs r0, #0
    bx lr
2:  ldrh r0, [r0, #2]
    bx lr

/*
 * Bit functions.  They use r0-r3 only: pico-sdk's int2float keeps its
 * return address in ip across the call to clz32, and reverse64 relies on
 * ip surviving reverse32.
 */
    .thumb_func
    .global rom_popcount32
rom_popcount32:
    movs r1, #0
1:  cmp r0, #0
    beq 2f
    subs r2, r0, #1
    ands r0, r2
    adds r1, #1
    b 1b
2:  mov r0, r1
    bx lr

    .thumb_func
    .global rom_clz32
rom_clz32:
    cmp r0, #0
    beq 9f
    movs r1, #0
    lsrs r2, r0, #16
    bne 1f
    lsls r0, #16
    adds r1, #16
1:  lsrs r2, r0, #24
    bne 2f
    lsls r0, #8
    adds r1, #8
2:  lsrs r2, r0, #28
    bne 3f
    lsls r0, #4
    adds r1, #4
3:  lsrs r2, r0, #30
    bne 4f
    lsls r0, #2
    adds r1, #2
4:  lsrs r2, r0, #31
    bne 5f
    adds r1, #1
5:  mov r0, r1
    bx lr
9:  movs r0, #32
    bx lr

    .thumb_func
    .global rom_ctz32
rom_ctz32:
    cmp r0, #0
    beq 9f
    movs r1, #0
    lsls r2, r0, #16
    bne 1f
    lsrs r0, #16
    adds r1, #16
1:  lsls r2, r0, #24
    bne 2f
    lsrs r0, #8
    adds r1, #8
2:  lsls r2, r0, #28
    bne 3f
    lsrs r0, #4
    adds r1, #4
3:  lsls r2, r0, #30
    bne 4f
    lsrs r0, #2
    adds r1, #2
4:  lsls r2, r0, #31
    bne 5f
    adds r1, #1
5:  mov r0, r1
    bx lr
9:  movs r0, #32
    bx lr

    .thumb_func
    .global rom_reverse32
rom_reverse32:
    movs r1, #0
    movs r2, #32
1:  lsrs r0, r0, #1             @ C = next bit, low first
    adcs r1, r1                 @ r1 = 2 * r1 + C
    subs r2, #1
    bne 1b
    mov r0, r1
    bx lr

/* reset_usb_boot (UB): there is no USB bootloader here; stop the core. */
    .thumb_func
    .global rom_reset_usb_boot
rom_reset_usb_boot:
    bkpt #0
    b rom_reset_usb_boot

/* wait_for_vector (WV): core 1 parks here (rp2040js runs core 0 only). */
    .thumb_func
    .global rom_wait_for_vector
rom_wait_for_vector:
    wfe
    b rom_wait_for_vector

/* Flash functions with nothing to do on the emulator's flash array. */
    .thumb_func
    .global rom_flash_noop
rom_flash_noop:
    bx lr

    .ltorg

/* Function table: 16-bit code, 16-bit Thumb address. */
    .section .rodata.tables, "a"
    .balign 4
func_table:
    code 'P', '3'
    .hword rom_popcount32 + 1
    code 'R', '3'
    .hword rom_reverse32 + 1
    code 'L', '3'
    .hword rom_clz32 + 1
    code 'T', '3'
    .hword rom_ctz32 + 1
    code 'M', 'S'
    .hword rom_memset + 1
    code 'S', '4'
    .hword rom_memset4 + 1
    code 'M', 'C'
    .hword rom_memcpy + 1
    code 'C', '4'
    .hword rom_memcpy44 + 1
    code 'U', 'B'
    .hword rom_reset_usb_boot + 1
    code 'W', 'V'
    .hword rom_wait_for_vector + 1
    code 'I', 'F'
    .hword rom_flash_noop + 1
    code 'E', 'X'
    .hword rom_flash_noop + 1
    code 'F', 'C'
    .hword rom_flash_noop + 1
    code 'C', 'X'
    .hword rom_flash_noop + 1
    code 'R', 'E'
    .hword rom_flash_range_erase + 1
    code 'R', 'P'
    .hword rom_flash_range_program + 1
    .hword 0, 0

/* Data table: 16-bit code, 16-bit address of the data. */
    .balign 4
data_table:
    code 'S', 'F'
    .hword sf_table
    code 'S', 'D'
    .hword sd_table
    .hword 0, 0

/*
 * Float tables, in pico/bootrom/sf_table.h order (offsets 0x00..0x7c);
 * the byte two before each table is its length in words.  The entries
 * are 32-bit Thumb addresses of the bodies in romext (0x10F00000).
 */
    .balign 4
    .byte 0, 0, 32, 0
sf_table:
    .word rom_fadd, rom_fsub, rom_fmul, rom_fdiv
    .word rom_fcmp, rom_fcmp_flags, rom_fsqrt, rom_float2int
    .word rom_float2fix, rom_float2uint, rom_float2ufix, rom_int2float
    .word rom_fix2float, rom_uint2float, rom_ufix2float, rom_fcos
    .word rom_fsin, rom_ftan, rom_fsincos, rom_fexp
    .word rom_fln, rom_fcmp, rom_fatan2, rom_int642float
    .word rom_fix642float, rom_uint642float, rom_ufix642float, rom_float2int64
    .word rom_float2fix64, rom_float2uint64, rom_float2ufix64, rom_float2double

    .balign 4
    .byte 0, 0, 32, 0
sd_table:
    .word rom_dadd, rom_dsub, rom_dmul, rom_ddiv
    .word rom_dcmp, rom_dcmp_flags, rom_dsqrt, rom_double2int
    .word rom_double2fix, rom_double2uint, rom_double2ufix, rom_int2double
    .word rom_fix2double, rom_uint2double, rom_ufix2double, rom_dcos
    .word rom_dsin, rom_dtan, rom_dsincos, rom_dexp
    .word rom_dln, rom_dcmp, rom_datan2, rom_int642double
    .word rom_fix642double, rom_uint642double, rom_ufix642double, rom_double2int64
    .word rom_double2fix64, rom_double2uint64, rom_double2ufix64, rom_double2float
