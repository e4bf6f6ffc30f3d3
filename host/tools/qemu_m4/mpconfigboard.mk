# MicroPython's qemu port as an emulated Cortex-M4 with its single-precision
# FPU (QEMU's mps2-an386, the M4 twin of the port's MPS2_AN385 board, same
# memory map and UART), for host/tools/build_qemu.sh.  softfp with the FPU
# makes the port report the .mpy arch armv7emsp, as the RP2350's Arm build does.
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an386

CFLAGS += -mthumb -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=softfp
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M4"'

LDSCRIPT = mcu/arm/mps2.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o
# The FPU turned on before MicroPython starts (fpu_on.c says why).
SRC_C += $(BOARD_DIR)/fpu_on.c
LDFLAGS += -Wl,--wrap=uart_init

MPY_CROSS_FLAGS += -march=armv7emsp
