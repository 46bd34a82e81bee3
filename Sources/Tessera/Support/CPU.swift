import CCPUID
import Foundation

/// The processor Tessera runs on: its identity, the vector instructions that both it and
/// the operating system support (CPUID and XGETBV), and the size of its caches (sysfs,
/// else CPUID).
public struct CPU: Sendable, Equatable {
    /// The CPUID vendor string, e.g. "GenuineIntel" or "AuthenticAMD".
    public let vendor: String
    /// The marketing name, e.g. "Intel(R) Xeon(R) Platinum 8581C CPU @ 2.10GHz".
    public let brand: String
    /// The display family and model (extended fields included), e.g. 6 and 207.
    public let family: Int
    public let model: Int
    /// The vector instructions a program may use: present on the CPU *and* with their
    /// register state saved by the operating system.
    public let features: VectorFeatures
    /// The L2 cache of one core in bytes, when sysfs or CPUID says.
    public let l2CacheBytes: Int?
    /// The width in bits of the units that execute vector instructions, when the CPU says
    /// (AMD's CPUID leaf 0x8000001A: 128 or 256; wider registers then run in parts).
    public let vectorDatapathBits: Int?

    public init(
        vendor: String, brand: String, family: Int, model: Int, features: VectorFeatures, l2CacheBytes: Int?,
        vectorDatapathBits: Int? = nil
    ) {
        self.vendor = vendor
        self.brand = brand
        self.family = family
        self.model = model
        self.features = features
        self.l2CacheBytes = l2CacheBytes
        self.vectorDatapathBits = vectorDatapathBits
    }

    /// The CPU of this process, read once.
    public static let current = CPU.read()

    /// One line for people: name, family and model, vector features, L2 size.
    public var summary: String {
        let l2 = l2CacheBytes.map { "L2 \(Self.describe(bytes: $0)) per core" } ?? "L2 size unknown"
        return "\(brand.isEmpty ? vendor : brand) (\(vendor) family \(family) model \(model)); \(features.summary); \(l2)"
    }

    static func describe(bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MB" : "\(bytes >> 10) KB"
    }

    private static func read() -> CPU {
        let vendorRegisters = cpuid(0)
        let vendor = string(ofRegisters: [vendorRegisters[1], vendorRegisters[3], vendorRegisters[2]])
        let signature = cpuid(1)[0]
        let baseFamily = Int(signature >> 8 & 0xF), baseModel = Int(signature >> 4 & 0xF)
        let family = baseFamily == 0xF ? baseFamily + Int(signature >> 20 & 0xFF) : baseFamily
        let model = baseFamily == 0x6 || baseFamily == 0xF ? baseModel + Int(signature >> 16 & 0xF) << 4 : baseModel
        let brand = string(ofRegisters: (0x8000_0002...0x8000_0004).flatMap { cpuid(UInt32($0)) })
        let l2 = cacheBytes(level: 2, sysfs: URL(fileURLWithPath: "/sys/devices/system/cpu/cpu\(CoreBudget.current.allowedCores.first ?? 0)/cache"))
            ?? cpuidCacheBytes(level: 2, vendor: vendor)
        return CPU(
            vendor: vendor, brand: brand, family: family, model: model, features: VectorFeatures.read(), l2CacheBytes: l2,
            vectorDatapathBits: datapathBits(performanceIdentifiers: cpuid(0x8000_001A)[0]))
    }

    /// The vector datapath width that EAX of CPUID leaf 0x8000001A states (bit 0: 128 bits,
    /// bit 2: 256 bits); nil when it states neither, as on CPUs without the leaf.
    package static func datapathBits(performanceIdentifiers eax: UInt32) -> Int? {
        eax & 1 << 2 != 0 ? 256 : eax & 1 != 0 ? 128 : nil
    }

    /// The size of the unified or data cache of `level` that sysfs lists under `sysfs`
    /// (a CPU's `cache` folder, with `index0`, `index1`, … each holding `level`, `type`
    /// and `size` such as "1024K").
    package static func cacheBytes(level: Int, sysfs: URL) -> Int? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: sysfs.path) else { return nil }
        for entry in entries.sorted() where entry.hasPrefix("index") {
            func field(_ name: String) -> String? {
                (try? String(contentsOf: sysfs.appendingPathComponent(entry).appendingPathComponent(name), encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard field("level") == String(level), field("type") != "Instruction", let size = field("size") else { continue }
            if let bytes = parseSize(size) { return bytes }
        }
        return nil
    }

    /// "1024K", "2M" or a plain byte count as bytes.
    package static func parseSize(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        guard let last = text.last else { return nil }
        let (digits, unit) = units[last].map { (text.dropLast(), $0) } ?? (Substring(text), 1)
        guard let value = Int(digits), value > 0 else { return nil }
        return value * unit
    }

    /// The cache of `level` from CPUID's deterministic cache parameters (leaf 4 on Intel,
    /// 0x8000001D on AMD), else AMD's leaf 0x80000006 for L2.
    private static func cpuidCacheBytes(level: Int, vendor: String) -> Int? {
        let leaf: UInt32 = vendor == "AuthenticAMD" || vendor == "HygonGenuine" ? 0x8000_001D : 4
        for subleaf in UInt32(0)..<16 {
            let r = cpuid(leaf, subleaf)
            let type = r[0] & 0x1F
            if type == 0 { break }
            guard type != 2, Int(r[0] >> 5 & 0x7) == level else { continue }
            let ways = Int(r[1] >> 22) + 1, partitions = Int(r[1] >> 12 & 0x3FF) + 1
            let line = Int(r[1] & 0xFFF) + 1, sets = Int(r[2]) + 1
            return ways * partitions * line * sets
        }
        let kilobytes = Int(cpuid(0x8000_0006)[2] >> 16)
        return level == 2 && kilobytes > 0 ? kilobytes << 10 : nil
    }

    /// CPUID's EAX, EBX, ECX, EDX for `leaf`; zeros when the CPU lacks the leaf.
    static func cpuid(_ leaf: UInt32, _ subleaf: UInt32 = 0) -> [UInt32] {
        var registers: [UInt32] = [0, 0, 0, 0]
        _ = registers.withUnsafeMutableBufferPointer { tessera_cpuid(leaf, subleaf, $0.baseAddress!) }
        return registers
    }

    private static func string(ofRegisters registers: [UInt32]) -> String {
        let bytes = registers.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
}

/// The x86-64 vector instructions that decide which GEMM kernels can run.
public struct VectorFeatures: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let sse3 = VectorFeatures(rawValue: 1 << 0)
    public static let ssse3 = VectorFeatures(rawValue: 1 << 1)
    public static let sse41 = VectorFeatures(rawValue: 1 << 2)
    public static let sse42 = VectorFeatures(rawValue: 1 << 3)
    public static let avx = VectorFeatures(rawValue: 1 << 4)
    public static let fma = VectorFeatures(rawValue: 1 << 5)
    public static let avx2 = VectorFeatures(rawValue: 1 << 6)
    public static let avx512f = VectorFeatures(rawValue: 1 << 7)
    public static let avx512cd = VectorFeatures(rawValue: 1 << 8)
    public static let avx512bw = VectorFeatures(rawValue: 1 << 9)
    public static let avx512dq = VectorFeatures(rawValue: 1 << 10)
    public static let avx512vl = VectorFeatures(rawValue: 1 << 11)
    public static let avx512vnni = VectorFeatures(rawValue: 1 << 12)
    public static let avx512bf16 = VectorFeatures(rawValue: 1 << 13)
    public static let avx512fp16 = VectorFeatures(rawValue: 1 << 14)

    /// The foundation, byte/word, doubleword/quadword and vector-length subsets that
    /// OpenBLAS's AVX-512 kernels need (Skylake-SP and later, Zen 4 and later).
    public static let avx512Core: VectorFeatures = [.avx512f, .avx512bw, .avx512dq, .avx512vl]

    private static let names: [(VectorFeatures, String)] = [
        (.sse3, "SSE3"), (.ssse3, "SSSE3"), (.sse41, "SSE4.1"), (.sse42, "SSE4.2"), (.avx, "AVX"), (.fma, "FMA"),
        (.avx2, "AVX2"), (.avx512f, "AVX-512F"), (.avx512cd, "CD"), (.avx512bw, "BW"), (.avx512dq, "DQ"),
        (.avx512vl, "VL"), (.avx512vnni, "VNNI"), (.avx512bf16, "BF16"), (.avx512fp16, "FP16"),
    ]

    /// The features' names, widest last, AVX-512 subsets after "AVX-512F": "SSE3 … AVX2
    /// AVX-512F CD BW DQ VL VNNI BF16".
    public var summary: String {
        let present = Self.names.filter { contains($0.0) }.map(\.1)
        return present.isEmpty ? "no SSE3" : present.joined(separator: " ")
    }

    /// What this CPU and its operating system support.
    static func read() -> VectorFeatures {
        let leaf1 = CPU.cpuid(1), leaf7 = CPU.cpuid(7), leaf7s1 = CPU.cpuid(7, 1)
        func bit(_ register: UInt32, _ index: UInt32) -> Bool { register >> index & 1 == 1 }
        var features: VectorFeatures = []
        if bit(leaf1[2], 0) { features.insert(.sse3) }
        if bit(leaf1[2], 9) { features.insert(.ssse3) }
        if bit(leaf1[2], 19) { features.insert(.sse41) }
        if bit(leaf1[2], 20) { features.insert(.sse42) }
        // XCR0: bits 1-2 (SSE, AVX state) for YMM registers, 5-7 (opmask, ZMM) for AVX-512.
        let osSaves = bit(leaf1[2], 27) ? tessera_xgetbv0() : 0
        guard osSaves & 0x6 == 0x6, bit(leaf1[2], 28) else { return features }
        features.insert(.avx)
        if bit(leaf1[2], 12) { features.insert(.fma) }
        if bit(leaf7[1], 5) { features.insert(.avx2) }
        guard osSaves & 0xE0 == 0xE0, bit(leaf7[1], 16) else { return features }
        features.insert(.avx512f)
        for (flag, index) in [(VectorFeatures.avx512dq, 17), (.avx512cd, 28), (.avx512bw, 30), (.avx512vl, 31)] where bit(leaf7[1], UInt32(index)) {
            features.insert(flag)
        }
        if bit(leaf7[2], 11) { features.insert(.avx512vnni) }
        if bit(leaf7[3], 23) { features.insert(.avx512fp16) }
        if bit(leaf7s1[0], 5) { features.insert(.avx512bf16) }
        return features
    }
}
