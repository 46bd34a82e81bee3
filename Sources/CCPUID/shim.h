#ifndef TESSERA_CCPUID_SHIM_H
#define TESSERA_CCPUID_SHIM_H

// The two instructions that say what an x86-64 CPU and its operating system support:
// CPUID (which features the CPU has) and XGETBV (which register state the OS saves).
// On other architectures both report nothing.

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/// Registers EAX, EBX, ECX, EDX of CPUID for `leaf` and `subleaf` into `registers`;
/// returns 0 when the CPU does not have that leaf.
static inline int tessera_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t registers[4]) {
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(leaf, subleaf, &a, &b, &c, &d)) return 0;
    registers[0] = a; registers[1] = b; registers[2] = c; registers[3] = d;
    return 1;
}

/// XCR0, the register state the operating system saves (call only when CPUID says OSXSAVE).
static inline uint64_t tessera_xgetbv0(void) {
    uint32_t low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((uint64_t)high << 32) | low;
}
#else
static inline int tessera_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t registers[4]) {
    (void)leaf; (void)subleaf; (void)registers;
    return 0;
}

static inline uint64_t tessera_xgetbv0(void) { return 0; }
#endif

#endif
