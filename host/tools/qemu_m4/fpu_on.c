// The port's startup (mcu/arm/startup.c) never turns the FPU on: built for
// the M4's FPU, the first float instruction would fault.  The link wraps
// uart_init, the first thing _start calls after semihosting, to grant
// CP10/CP11 access first (CPACR), as a real board's SystemInit does.
#include <stdint.h>

void __real_uart_init(void);
void __wrap_uart_init(void);

void __wrap_uart_init(void) {
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm volatile ("dsb\n\tisb" ::: "memory");
    __real_uart_init();
}
