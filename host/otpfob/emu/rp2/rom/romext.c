/*
 * otpfob stand-in RP2040 bootrom, part 2 ("romext"): the bodies behind the
 * soft-float tables SF and SD of rom.S, in pico/bootrom/sf_table.h order.
 *
 * They are too big for the 16 KB ROM, so this image is linked at 0x10F00000
 * and loaded into rp2040js's 16 MB flash array at offset 0xF00000, far above
 * a Pico's 2 MB (firmware and littlefs).  Arithmetic comes from libgcc and
 * the functions from newlib's libm, built for the Cortex-M0+.
 *
 * Semantics follow the RP2040 datasheet's bootrom section: float->int
 * conversions round towards -infinity and saturate (pico-sdk builds the
 * truncating ones on top), "fix" variants scale by 2^n, fsin returns the
 * cosine in r1 as well (pico-sdk's sincosf relies on it), dsincos returns
 * sin in r0:r1 and cos in r2:r3 (romext_asm.S).
 */
#include <stdint.h>
#include <math.h>

/* libm sets errno on domain errors: keep it inside this image. */
static int romext_errno;
int *__errno(void) { return &romext_errno; }

/* ---- helpers ---- */

static int32_t sat_i32(double x) {
    if (x != x) return 0;
    double f = floor(x);
    if (f >= 2147483648.0) return INT32_MAX;
    if (f < -2147483648.0) return INT32_MIN;
    return (int32_t)f;
}

static uint32_t sat_u32(double x) {
    if (x != x || x < 0) return 0;
    double f = floor(x);
    if (f >= 4294967296.0) return UINT32_MAX;
    return (uint32_t)f;
}

static int64_t sat_i64(double x) {
    if (x != x) return 0;
    double f = floor(x);
    if (f >= 9223372036854775808.0) return INT64_MAX;
    if (f < -9223372036854775808.0) return INT64_MIN;
    return (int64_t)f;
}

static uint64_t sat_u64(double x) {
    if (x != x || x < 0) return 0;
    double f = floor(x);
    if (f >= 18446744073709551616.0) return UINT64_MAX;
    return (uint64_t)f;
}

/* x * 2^n, rounded down: a negative value that underflows is still < 0 */
static double scale_down(double x, int n) {
    double y = ldexp(x, n);
    if (y == 0 && x < 0) return -1;
    return y;
}

static int cmp3(double a, double b) {
    if (a < b) return -1;
    if (a > b) return 1;
    if (a == b) return 0;
    return 1;                       /* unordered */
}

/* ---- SF: single precision ---- */

float rom_fadd(float a, float b) { return a + b; }
float rom_fsub(float a, float b) { return a - b; }
float rom_fmul(float a, float b) { return a * b; }
float rom_fdiv(float a, float b) { return a / b; }
int rom_fcmp(float a, float b) { return cmp3(a, b); }
float rom_fsqrt(float a) { return sqrtf(a); }
int32_t rom_float2int(float a) { return sat_i32(a); }
int32_t rom_float2fix(float a, int n) { return sat_i32(scale_down(a, n)); }
uint32_t rom_float2uint(float a) { return sat_u32(a); }
uint32_t rom_float2ufix(float a, int n) { return sat_u32(scale_down(a, n)); }
float rom_int2float(int32_t a) { return (float)a; }
float rom_fix2float(int32_t a, int n) { return ldexpf((float)a, -n); }
float rom_uint2float(uint32_t a) { return (float)a; }
float rom_ufix2float(uint32_t a, int n) { return ldexpf((float)a, -n); }
float rom_fcos(float a) { return cosf(a); }
float rom_ftan(float a) { return tanf(a); }
float rom_fexp(float a) { return expf(a); }
float rom_fln(float a) { return logf(a); }
float rom_fatan2(float y, float x) { return atan2f(y, x); }
float rom_int642float(int64_t a) { return (float)a; }
float rom_fix642float(int64_t a, int n) { return ldexpf((float)a, -n); }
float rom_uint642float(uint64_t a) { return (float)a; }
float rom_ufix642float(uint64_t a, int n) { return ldexpf((float)a, -n); }
int64_t rom_float2int64(float a) { return sat_i64(a); }
int64_t rom_float2fix64(float a, int n) { return sat_i64(scale_down(a, n)); }
uint64_t rom_float2uint64(float a) { return sat_u64(a); }
uint64_t rom_float2ufix64(float a, int n) { return sat_u64(scale_down(a, n)); }
double rom_float2double(float a) { return a; }

/* sin in r0, cos in r1 */
uint64_t rom_fsin(float a) {
    union { float f; uint32_t u; } s = { sinf(a) }, c = { cosf(a) };
    return ((uint64_t)c.u << 32) | s.u;
}
uint64_t rom_fsincos(float a) { return rom_fsin(a); }

/* ---- SD: double precision ---- */

double rom_dadd(double a, double b) { return a + b; }
double rom_dsub(double a, double b) { return a - b; }
double rom_dmul(double a, double b) { return a * b; }
double rom_ddiv(double a, double b) { return a / b; }
int rom_dcmp(double a, double b) { return cmp3(a, b); }
double rom_dsqrt(double a) { return sqrt(a); }
int32_t rom_double2int(double a) { return sat_i32(a); }
int32_t rom_double2fix(double a, int n) { return sat_i32(scale_down(a, n)); }
uint32_t rom_double2uint(double a) { return sat_u32(a); }
uint32_t rom_double2ufix(double a, int n) { return sat_u32(scale_down(a, n)); }
double rom_int2double(int32_t a) { return a; }
double rom_fix2double(int32_t a, int n) { return ldexp(a, -n); }
double rom_uint2double(uint32_t a) { return a; }
double rom_ufix2double(uint32_t a, int n) { return ldexp(a, -n); }
double rom_dcos(double a) { return cos(a); }
double rom_dsin(double a) { return sin(a); }
double rom_dtan(double a) { return tan(a); }
double rom_dexp(double a) { return exp(a); }
double rom_dln(double a) { return log(a); }
double rom_datan2(double y, double x) { return atan2(y, x); }
double rom_int642double(int64_t a) { return (double)a; }
double rom_fix642double(int64_t a, int n) { return ldexp((double)a, -n); }
double rom_uint642double(uint64_t a) { return (double)a; }
double rom_ufix642double(uint64_t a, int n) { return ldexp((double)a, -n); }
int64_t rom_double2int64(double a) { return sat_i64(a); }
uint64_t rom_double2uint64(double a) { return sat_u64(a); }
/* 64-bit results of a*2^n: ldexp is exact here unless it saturates anyway */
int64_t rom_double2fix64(double a, int n) { return sat_i64(scale_down(a, n)); }
uint64_t rom_double2ufix64(double a, int n) { return sat_u64(scale_down(a, n)); }
float rom_double2float(double a) { return (float)a; }
