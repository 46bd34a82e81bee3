/// The instruction-set families of OpenBLAS's x86-64 kernels, narrowest first.
///
/// OpenBLAS (built with `DYNAMIC_ARCH`, as Debian's is) carries kernels for many CPU
/// cores; for single-precision GEMM they come down to these families. Each family is
/// loaded through one OpenBLAS core name (``coreName``).
public enum KernelFamily: Int, Comparable, Sendable, CaseIterable {
    /// SSE2/SSE3 kernels (Prescott and the other pre-AVX cores).
    case sse3
    /// 256-bit AVX without FMA3 (Sandy Bridge, and AMD's Bulldozer line).
    case avx
    /// AVX2 with FMA3 (Haswell and later Intel cores, AMD Zen 1–3).
    case avx2
    /// AVX-512 F/BW/DQ/VL (Skylake-SP and later).
    case avx512
    /// AVX-512 with BF16 (Cooper Lake, Sapphire Rapids and later; AMD Zen 4 and later).
    case avx512bf16

    public static func < (a: KernelFamily, b: KernelFamily) -> Bool { a.rawValue < b.rawValue }

    /// The OpenBLAS core whose kernels Tessera loads for this family.
    public var coreName: String {
        switch self {
        case .sse3: "Prescott"
        case .avx: "Sandybridge"
        case .avx2: "Haswell"
        case .avx512: "SkylakeX"
        case .avx512bf16: "Cooperlake"
        }
    }

    /// How people name the family's instructions.
    public var instructions: String {
        switch self {
        case .sse3: "SSE3"
        case .avx: "AVX"
        case .avx2: "AVX2 + FMA"
        case .avx512: "AVX-512"
        case .avx512bf16: "AVX-512 + BF16"
        }
    }

    /// The family of an OpenBLAS x86-64 core name (case-insensitive, as
    /// `OPENBLAS_CORETYPE` takes it); nil for a name OpenBLAS 0.3 does not have.
    public init?(openBLASCore name: String) {
        switch name.lowercased() {
        case "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington",
             "nehalem", "athlon", "opteron", "opteron_sse3", "opteron(sse3)", "barcelona", "nano", "bobcat":
            self = .sse3
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": self = .avx
        case "haswell", "zen": self = .avx2
        case "skylakex": self = .avx512
        case "cooperlake", "sapphirerapids": self = .avx512bf16
        default: return nil
        }
    }

    /// The widest family whose instructions `features` all include.
    public static func widest(for features: VectorFeatures) -> KernelFamily {
        allCases.last { $0.isSupported(by: features) } ?? .sse3
    }

    /// Whether a CPU (and its operating system) with `features` can run this family.
    public func isSupported(by features: VectorFeatures) -> Bool {
        switch self {
        case .sse3: true
        case .avx: features.contains(.avx)
        case .avx2: features.isSuperset(of: [.avx2, .fma])
        case .avx512: features.isSuperset(of: VectorFeatures.avx512Core.union([.avx2, .fma]))
        case .avx512bf16: features.isSuperset(of: VectorFeatures.avx512Core.union([.avx2, .fma, .avx512bf16]))
        }
    }
}
