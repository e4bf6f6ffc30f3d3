/* otpfob stand-in RP2040 bootrom, romext: entries that need their own ABI. */
    .syntax unified
    .cpu cortex-m0plus
    .thumb
    .text

/* fcmp/dcmp with flags: like "cmp a, b" (Z if equal, N and C clear if less);
 * r0-r3 are kept. */
    .thumb_func
    .global rom_fcmp_flags
rom_fcmp_flags:
    push {r0, r1, r2, r3, r4, lr}
    bl rom_fcmp
    b 1f
    .thumb_func
    .global rom_dcmp_flags
rom_dcmp_flags:
    push {r0, r1, r2, r3, r4, lr}
    bl rom_dcmp
1:  adds r0, #1                 @ -1, 0, 1 -> 0, 1, 2
    cmp r0, #1
    pop {r0, r1, r2, r3, r4, pc}

/* dsincos: sin in r0:r1, cos in r2:r3 */
    .thumb_func
    .global rom_dsincos
rom_dsincos:
    push {r3, r4, r5, r6, r7, lr}
    mov r4, r0
    mov r5, r1
    bl sin
    mov r6, r0
    mov r7, r1
    mov r0, r4
    mov r1, r5
    bl cos
    mov r2, r0
    mov r3, r1
    mov r0, r6
    mov r1, r7
    add sp, #4
    pop {r4, r5, r6, r7, pc}
