//! The order in which this build's CPU kernels add, and so whether its numbers repeat on other
//! machines.
//!
//! burn-flex's kernels used to follow the CPU: macerator dispatched its reductions (sums,
//! softmax, norms) to AVX-512 where the CPU had it, 16 lanes wide instead of 8, and gemm cut
//! the shared dimension of a matrix product into blocks sized by the CPU's L1 cache (up to 1024
//! deep on a 48 KiB L1, 512 on a 32 KiB one). Both change the order of additions, so a seed
//! trained to other weights on another kind of CPU (docs/results.md). The default build is
//! *portable*: macerator stops at x86-64-v3 (AVX2 + FMA, which AVX-512 CPUs also run) and gemm
//! blocks for a fixed L1 (`vendor/gemm-common`), so every x86-64-v3 CPU adds in one order and a
//! record re-runs to the last bit on any of them. The `native-kernels` feature restores
//! upstream's machine-dependent kernels.

/// The numerics of this build on this CPU, as records and result sets name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numerics {
    /// Portable build on a CPU with every x86-64-v3 feature the kernels use: the same bits on
    /// every such CPU.
    PortableX86V3,
    /// A portable build on a CPU below x86-64-v3: the kernels fall back to narrower code.
    BelowV3,
    /// A `native-kernels` build (or a CPU architecture without a portable level here): the
    /// numbers depend on the CPU's SIMD level and caches.
    Native,
}

/// The x86-64-v3 features that macerator's and gemm's v3 kernels require.
#[cfg(target_arch = "x86_64")]
fn has_x86_64_v3() -> bool {
    use std::arch::is_x86_feature_detected as has;
    has!("avx")
        && has!("avx2")
        && has!("fma")
        && has!("bmi1")
        && has!("bmi2")
        && has!("lzcnt")
        && has!("f16c")
        && has!("movbe")
        && has!("popcnt")
        && has!("sse4.2")
}

impl Numerics {
    /// This build's numerics on this CPU.
    pub fn current() -> Numerics {
        #[cfg(target_arch = "x86_64")]
        if !burn::backend::flex::NATIVE_KERNELS {
            return if has_x86_64_v3() { Numerics::PortableX86V3 } else { Numerics::BelowV3 };
        }
        Numerics::Native
    }

    /// The name recorded in run environments and `machine.json`, and the default result-set
    /// folder of portable runs.
    pub fn name(self) -> &'static str {
        match self {
            Numerics::PortableX86V3 => "portable-x86-64-v3",
            Numerics::BelowV3 => "below-x86-64-v3",
            Numerics::Native => "native",
        }
    }

    /// Whether a seed gives the same bits on every machine of this mode.
    pub fn portable(self) -> bool {
        self == Numerics::PortableX86V3
    }

    /// Whether a recorded mode name is a portable one.
    pub fn is_portable_name(name: &str) -> bool {
        name == Numerics::PortableX86V3.name()
    }

    /// One line for `--version` and run headers.
    pub fn describe(self) -> &'static str {
        match self {
            Numerics::PortableX86V3 => "portable-x86-64-v3: AVX2+FMA kernels and fixed gemm blocking, the same bits on every x86-64-v3 CPU",
            Numerics::BelowV3 => {
                "below-x86-64-v3: this CPU lacks AVX2/FMA, so the kernels fall back to narrower code and its numbers are its own"
            }
            Numerics::Native => {
                "native: the kernels follow this CPU's SIMD level and caches (native-kernels build), so its numbers are its own"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_portable_build_on_a_v3_cpu_is_portable_and_only_that_is() {
        let n = Numerics::current();
        #[cfg(target_arch = "x86_64")]
        assert_eq!(n == Numerics::PortableX86V3, !burn::backend::flex::NATIVE_KERNELS && has_x86_64_v3(), "{n:?}");
        assert_eq!(n.portable(), Numerics::is_portable_name(n.name()));
        assert!(!Numerics::is_portable_name(Numerics::Native.name()) && !Numerics::is_portable_name(Numerics::BelowV3.name()));
    }
}
