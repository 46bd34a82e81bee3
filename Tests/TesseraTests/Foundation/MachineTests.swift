import Foundation
import Testing
import Tessera

@Suite("the machine: CPU features, cores, OpenBLAS kernels, tuning")
struct MachineTests {
    @Test("every OpenBLAS x86-64 core name has its kernel family; other names have none")
    func coreNames() {
        let expected: [String: KernelFamily] = [
            "Prescott": .sse3, "Core2": .sse3, "Nehalem": .sse3, "Barcelona": .sse3, "Atom": .sse3, "Katmai": .sse3,
            "Sandybridge": .avx, "Bulldozer": .avx, "Piledriver": .avx, "Excavator": .avx,
            "Haswell": .avx2, "Zen": .avx2, "SkylakeX": .avx512, "Cooperlake": .avx512bf16, "SapphireRapids": .avx512bf16,
        ]
        for (name, family) in expected {
            #expect(KernelFamily(openBLASCore: name) == family, "\(name)")
            #expect(KernelFamily(openBLASCore: name.uppercased()) == family, "\(name) in capitals")
        }
        for name in ["ARMV8", "NEOVERSEN1", "POWER9", "unknown", ""] { #expect(KernelFamily(openBLASCore: name) == nil) }
        for family in KernelFamily.allCases { #expect(KernelFamily(openBLASCore: family.coreName) == family) }
    }

    @Test("the widest family needs every instruction its kernels use")
    func widestFamily() {
        let avx2: VectorFeatures = [.sse3, .ssse3, .sse41, .sse42, .avx, .fma, .avx2]
        #expect(KernelFamily.widest(for: [.sse3]) == .sse3)
        #expect(KernelFamily.widest(for: [.sse3, .avx]) == .avx)
        #expect(KernelFamily.widest(for: [.sse3, .avx, .avx2]) == .avx, "AVX2 without FMA")
        #expect(KernelFamily.widest(for: avx2) == .avx2)
        #expect(KernelFamily.widest(for: avx2.union([.avx512f, .avx512cd])) == .avx2, "AVX-512F without BW/DQ/VL (Knights Landing)")
        #expect(KernelFamily.widest(for: avx2.union(.avx512Core)) == .avx512)
        #expect(KernelFamily.widest(for: avx2.union(.avx512Core).union(.avx512bf16)) == .avx512bf16)
    }

    @Test("Tessera replaces OpenBLAS's kernels only when they are narrower and the user chose none")
    func replacementRule() {
        #expect(BLASKernels.replacement(for: "Prescott", widest: .avx512bf16, userSetting: nil) == .avx512bf16)
        #expect(BLASKernels.replacement(for: "Zen", widest: .avx512, userSetting: nil) == .avx512)
        #expect(BLASKernels.replacement(for: "Prescott", widest: .avx512bf16, userSetting: "Prescott") == nil)
        #expect(BLASKernels.replacement(for: "Haswell", widest: .avx512, userSetting: "Haswell") == nil)
        #expect(BLASKernels.replacement(for: "Cooperlake", widest: .avx512bf16, userSetting: nil) == nil)
        #expect(BLASKernels.replacement(for: "SkylakeX", widest: .avx2, userSetting: nil) == nil)
        #expect(BLASKernels.replacement(for: "NEOVERSEN1", widest: .avx512, userSetting: nil) == nil)
    }

    @Test("AVX2 replaces AVX-512 only where the vector datapath is narrower than 512 bits, unless AVX-512 times far faster")
    func timedPreference() {
        var timed: [KernelFamily] = []
        func rates(_ table: [KernelFamily: Double]) -> (KernelFamily) -> Double {
            { family in timed.append(family); return table[family] ?? 0 }
        }
        let avx2Faster = rates([.avx2: 110, .avx512bf16: 100, .avx512: 100])
        #expect(BLASKernels.preferred(widest: .avx512bf16, datapathBits: nil, rate: avx2Faster) == .avx512bf16)
        #expect(BLASKernels.preferred(widest: .avx512bf16, datapathBits: 512, rate: avx2Faster) == .avx512bf16)
        #expect(BLASKernels.preferred(widest: .avx2, datapathBits: 256, rate: avx2Faster) == .avx2)
        #expect(timed.isEmpty, "nothing to time: \(timed)")
        #expect(BLASKernels.preferred(widest: .avx512bf16, datapathBits: 256, rate: avx2Faster) == .avx2)
        #expect(BLASKernels.preferred(widest: .avx512, datapathBits: 128, rate: avx2Faster) == .avx2)
        #expect(Set(timed) == [.avx2, .avx512bf16, .avx512])
        let wideWithinMargin = rates([.avx2: 100, .avx512bf16: 120])
        #expect(BLASKernels.preferred(widest: .avx512bf16, datapathBits: 256, rate: wideWithinMargin) == .avx2)
        let wideFaster = rates([.avx2: 234, .avx512bf16: 389])
        #expect(BLASKernels.preferred(widest: .avx512bf16, datapathBits: 256, rate: wideFaster) == .avx512bf16)
    }

    @Test("CPUID 0x8000001A's EAX gives the vector datapath: bit 2 256 bits, bit 0 128, neither unknown")
    func datapathWidth() {
        #expect(CPU.datapathBits(performanceIdentifiers: 0x6) == 256, "FP256 and MOVU, as an AMD family 25 reports")
        #expect(CPU.datapathBits(performanceIdentifiers: 0x4) == 256)
        #expect(CPU.datapathBits(performanceIdentifiers: 0x3) == 128)
        #expect(CPU.datapathBits(performanceIdentifiers: 0x2) == nil, "MOVU alone")
        #expect(CPU.datapathBits(performanceIdentifiers: 0) == nil, "no such leaf")
    }

    @Test("a timed choice names the other kernels and both rates, and no wider family to try")
    func timedDescription() {
        let choice = BLASKernels.Choice(
            coreName: "Haswell", family: .avx2, chooser: .timed(rate: 213.4, other: "Cooperlake", otherRate: 191),
            widestSupported: .avx512bf16)
        #expect(choice.description.contains("Haswell kernels (AVX2 + FMA), chosen by Tessera for this CPU's"))
        #expect(choice.description.contains("(sgemm 213 GFLOP/s, Cooperlake 191)"))
        #expect(!choice.description.contains("could run"))
        let user = { (core: String, family: KernelFamily) in
            BLASKernels.Choice(
                coreName: core, family: family, chooser: .user(core), widestSupported: .avx512bf16, preferred: .avx2
            ).description
        }
        #expect(!user("Haswell", .avx2).contains("could run"), "the user's kernels are the ones Tessera prefers")
        #expect(user("Prescott", .sse3).hasSuffix("; this CPU could run Haswell (AVX2 + FMA)"))
    }

    @Test("the running kernels are reported with who chose them, the user's OPENBLAS_CORETYPE first")
    func currentChoice() {
        let choice = BLASKernels.current
        #expect(choice.coreName == BLAS.coreName)
        if let setting = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            #expect(choice.chooser == .user(setting))
            #expect(choice.coreName.lowercased() == setting.lowercased())
            #expect(choice.description.contains("set by the user (OPENBLAS_CORETYPE=\(setting))"))
        } else {
            #expect(choice.chooser == .openBLAS)
        }
        #expect(choice.widestSupported == KernelFamily.widest(for: CPU.current.features))
        #expect(choice.preferred == choice.widestSupported || choice.preferred == .avx2)
    }

    @Test("the running kernels' sgemm agrees with the double-precision loop")
    func gemmCheck() {
        #expect(BLASKernels.gemmError() <= BLASKernels.tolerance)
    }

    @Test("the CPU's vector features agree with the kernel's /proc/cpuinfo flags")
    func featuresMatchCPUInfo() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            Issue.record("no flags line in /proc/cpuinfo")
            return
        }
        let flags = Set(flagsLine.split(separator: ":")[1].split(separator: " ").map(String.init))
        let features = CPU.current.features
        let pairs: [(VectorFeatures, String)] = [
            (.sse3, "pni"), (.ssse3, "ssse3"), (.sse41, "sse4_1"), (.sse42, "sse4_2"), (.avx, "avx"), (.fma, "fma"),
            (.avx2, "avx2"), (.avx512f, "avx512f"), (.avx512bw, "avx512bw"), (.avx512dq, "avx512dq"),
            (.avx512vl, "avx512vl"), (.avx512cd, "avx512cd"), (.avx512vnni, "avx512_vnni"), (.avx512bf16, "avx512_bf16"),
            (.avx512fp16, "avx512_fp16"),
        ]
        for (feature, flag) in pairs {
            #expect(features.contains(feature) == flags.contains(flag), "\(flag)")
        }
        #expect(CPU.current.family > 0 && !CPU.current.vendor.isEmpty)
    }

    @Test("cache sizes are read from a sysfs cache folder, the instruction cache skipped")
    func cacheSizesFromSysfs() throws {
        let folder = try Fixtures.temporaryFolder()
        func entry(_ index: Int, level: Int, type: String, size: String) throws {
            let directory = folder.appendingPathComponent("index\(index)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (name, value) in [("level", "\(level)"), ("type", type), ("size", size)] {
                try (value + "\n").write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
        }
        try entry(0, level: 1, type: "Data", size: "48K")
        try entry(1, level: 1, type: "Instruction", size: "32K")
        try entry(2, level: 2, type: "Unified", size: "2048K")
        try entry(3, level: 3, type: "Unified", size: "105M")
        #expect(CPU.cacheBytes(level: 1, sysfs: folder) == 48 << 10)
        #expect(CPU.cacheBytes(level: 2, sysfs: folder) == 2 << 20)
        #expect(CPU.cacheBytes(level: 3, sysfs: folder) == 105 << 20)
        #expect(CPU.cacheBytes(level: 4, sysfs: folder) == nil)
        #expect(CPU.cacheBytes(level: 2, sysfs: folder.appendingPathComponent("missing")) == nil)
        #expect(CPU.parseSize("1024K") == 1 << 20 && CPU.parseSize("512") == 512)
        #expect(CPU.parseSize("") == nil && CPU.parseSize("K") == nil && CPU.parseSize("-1K") == nil)
        #expect((CPU.current.l2CacheBytes ?? 0) >= 64 << 10, "this CPU's L2 is known")
    }

    @Test("the cgroup v2 quota is the smallest on the cgroup's path")
    func cgroupV2Quota() throws {
        let root = try Fixtures.temporaryFolder()
        let inner = root.appendingPathComponent("a/b")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        try "max 100000\n".write(to: root.appendingPathComponent("a/cpu.max"), atomically: true, encoding: .utf8)
        try "150000 100000\n".write(to: inner.appendingPathComponent("cpu.max"), atomically: true, encoding: .utf8)
        #expect(CoreBudget.cgroupQuota(membership: "0::/a/b\n", root: root) == 1.5)
        #expect(CoreBudget.cgroupQuota(membership: "0::/a\n", root: root) == nil, "no limit")
        try "50000 100000\n".write(to: root.appendingPathComponent("a/cpu.max"), atomically: true, encoding: .utf8)
        #expect(CoreBudget.cgroupQuota(membership: "0::/a/b\n", root: root) == 0.5, "the parent's limit is lower")
        #expect(CoreBudget.cgroupQuota(membership: nil, root: root) == nil)
    }

    @Test("the cgroup v1 quota is quota over period of the cpu controller")
    func cgroupV1Quota() throws {
        let root = try Fixtures.temporaryFolder()
        let folder = root.appendingPathComponent("cpu,cpuacct/docker/abc")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "200000\n".write(to: folder.appendingPathComponent("cpu.cfs_quota_us"), atomically: true, encoding: .utf8)
        try "100000\n".write(to: folder.appendingPathComponent("cpu.cfs_period_us"), atomically: true, encoding: .utf8)
        let membership = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n"
        #expect(CoreBudget.cgroupQuota(membership: membership, root: root) == 2)
        try "-1\n".write(to: folder.appendingPathComponent("cpu.cfs_quota_us"), atomically: true, encoding: .utf8)
        #expect(CoreBudget.cgroupQuota(membership: membership, root: root) == nil)
    }

    @Test("threads: one per allowed core, no more than the quota rounded up, at least one")
    func threadBudget() {
        let many = Array(0..<64)
        #expect(CoreBudget(allowedCores: many, quota: nil).threads == 64)
        #expect(CoreBudget(allowedCores: many, quota: 2).threads == 2, "a container limited to 2 of 64 cores")
        #expect(CoreBudget(allowedCores: many, quota: 1.5).threads == 2)
        #expect(CoreBudget(allowedCores: many, quota: 0.25).threads == 1)
        #expect(CoreBudget(allowedCores: [3, 5], quota: 8).threads == 2)
        #expect(CoreBudget(allowedCores: [], quota: nil).threads == 1)
        #expect(CoreBudget.current.threads == CoreBudget.current.allowedCores.count || CoreBudget.current.quota != nil)
    }

    @Test("tile sizes follow the L2 cache, row padding the kernel family")
    func tuningRules() {
        let zen = KernelTuning(l2CacheBytes: 1 << 20, kernelFamily: .avx512bf16)
        #expect(zen == KernelTuning(coreTileElements: 1 << 19, sharedTileElements: 1 << 20, columnPadding: 32))
        let xeon = KernelTuning(l2CacheBytes: 2 << 20, kernelFamily: .avx2)
        #expect(xeon == KernelTuning(coreTileElements: 1 << 20, sharedTileElements: 1 << 21, columnPadding: 0))
        #expect(KernelTuning(l2CacheBytes: nil, kernelFamily: .sse3).coreTileElements == 1 << 19, "1 MB when unknown")
        #expect(KernelTuning(l2CacheBytes: 256 << 10, kernelFamily: .avx512).columnPadding == 32)
        #expect(KernelTuning.machine.columnPadding == ((BLASKernels.current.family ?? .avx2) >= .avx512 ? 32 : 0))
    }
}

@Suite("kernel choice in a running tessera process")
struct KernelChoiceProcessTests {
    /// The command loads every family the CPU supports, widest first, then chooses again
    /// from the narrowest: the path Tessera takes on a CPU that OpenBLAS does not know.
    @Test("selfcheck loads and checks every supported family, then ends on the user's kernels or the preferred")
    func everyKernelFamily() throws {
        let result = try TesseraProcess.run(["selfcheck", "--every-kernel-family"])
        #expect(result.status == 0, "\(result.output)")
        let supported = KernelFamily.allCases.filter { $0.isSupported(by: CPU.current.features) }
        for family in supported {
            #expect(result.output.contains("ok   \(family.coreName) (\(family.instructions)): sgemm error"), "\(result.output)")
        }
        let final: String
        if let setting = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            #expect(result.output.contains("chosen from Prescott: \(setting) kernels"), "\(result.output)")
            #expect(result.output.contains("set by the user (OPENBLAS_CORETYPE=\(setting))"))
            final = setting
        } else {
            let widest = KernelFamily.widest(for: CPU.current.features)
            if BLASKernels.current.preferred != widest {
                // AVX-512 in halves: AVX2 runs unless the widest family times far faster.
                #expect(result.output.contains("chosen by Tessera for this CPU's"), "\(result.output)")
                final = result.output.contains("chosen from Prescott: Haswell kernels") ? "Haswell" : widest.coreName
            } else {
                if widest > .sse3 {
                    #expect(result.output.contains("chosen by Tessera in place of Prescott"), "\(result.output)")
                }
                final = widest.coreName
            }
        }
        #expect(result.output.contains("Engine self-check passed (OpenBLAS threads: \(CoreBudget.current.threads), \(final) kernels)."))
    }
}
