import COpenBLAS
import Foundation
import Synchronization

/// Which of OpenBLAS's kernels run, who chose them, and the means to choose others.
///
/// OpenBLAS picks its kernels once, when it is loaded: from `OPENBLAS_CORETYPE` if set,
/// else from the CPU models it knows. Releases before 0.3.25 fall back to their SSE3
/// (Prescott) kernels on Intel models they do not know, and misname some AMD families,
/// which costs up to five times in GEMM speed. ``chooseForCPU()`` finds the widest
/// ``KernelFamily`` that the CPU and the operating system support and, when OpenBLAS runs
/// a narrower one and the user set no `OPENBLAS_CORETYPE`, loads that family's kernels in
/// the running process, checks them against a reference loop, and falls back to
/// OpenBLAS's own choice if they disagree. Where the CPU executes AVX-512 in halves (its
/// vector datapath is narrower than 512 bits), it runs the AVX2 kernels instead, unless
/// the widest time far faster. A `OPENBLAS_CORETYPE` set by the user is always respected.
///
/// Loading kernels is a process-wide act: the `tessera` command does it once at start; a
/// program embedding Tessera calls ``chooseForCPU()`` itself (otherwise the first
/// GEMM prints one line on standard error saying what would be faster and how to get it).
/// Tessera's own BLAS calls wait while kernels load; calls the program makes to OpenBLAS
/// directly must not run meanwhile.
public enum BLASKernels {
    /// Who chose the kernels that run.
    public enum Chooser: Sendable, Equatable {
        /// OpenBLAS, from the CPU, when it was loaded.
        case openBLAS
        /// The user, with `OPENBLAS_CORETYPE` set to this value.
        case user(String)
        /// Tessera, in place of the narrower kernels of this core (OpenBLAS's pick, or
        /// kernels loaded since).
        case tessera(replacing: String)
        /// Tessera, on a CPU whose vector datapath is narrower than its widest registers,
        /// having timed sgemm under these kernels (`rate`, GFLOP/s) and under those of core
        /// `other` (`otherRate`).
        case timed(rate: Double, other: String, otherRate: Double)
        /// Tessera tried this core's kernels, which failed their check (`reason`), and
        /// went back to OpenBLAS's own choice.
        case fallback(rejected: String, reason: String)
        /// The program, with ``BLASKernels/load(coreName:)``.
        case program
    }

    /// The kernels that run, why, and what the CPU could run.
    public struct Choice: Sendable, Equatable, CustomStringConvertible {
        /// OpenBLAS's name for the running core, e.g. "Haswell".
        public let coreName: String
        /// The running core's family, nil for a core name Tessera does not know.
        public let family: KernelFamily?
        public let chooser: Chooser
        /// The widest family this CPU and its operating system support.
        public let widestSupported: KernelFamily
        /// The family Tessera runs on this CPU when the user sets none: the widest, or AVX2
        /// where AVX-512 runs in halves.
        public let preferred: KernelFamily

        package init(
            coreName: String, family: KernelFamily?, chooser: Chooser, widestSupported: KernelFamily,
            preferred: KernelFamily? = nil
        ) {
            self.coreName = coreName
            self.family = family
            self.chooser = chooser
            self.widestSupported = widestSupported
            self.preferred = preferred ?? widestSupported
        }

        /// "Cooperlake kernels (AVX-512 + BF16), chosen by OpenBLAS", with what would be
        /// faster when a narrower family runs.
        public var description: String {
            var text = "\(coreName) kernels (\(family?.instructions ?? "unknown family")), "
            switch chooser {
            case .openBLAS: text += "chosen by OpenBLAS"
            case .user(let value): text += "set by the user (OPENBLAS_CORETYPE=\(value))"
            case .tessera(let replaced): text += "chosen by Tessera in place of \(replaced), narrower than this CPU supports"
            case .timed(let rate, let other, let otherRate):
                text += "chosen by Tessera for this CPU's "
                    + "\(CPU.current.vectorDatapathBits.map { "\($0)-bit" } ?? "narrow") vector units "
                    + "(sgemm \(Int(rate.rounded())) GFLOP/s, \(other) \(Int(otherRate.rounded())))"
                return text
            case .fallback(let rejected, let reason):
                text += "chosen by OpenBLAS; Tessera's choice \(rejected) failed its check (\(reason))"
            case .program: text += "loaded by the program"
            }
            if let family, family < preferred {
                text += "; this CPU could run \(preferred.coreName) (\(preferred.instructions))"
            }
            return text
        }
    }

    /// The value of `OPENBLAS_CORETYPE` the process started with.
    public static let userSetting: String? = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]

    private static let chooser = Mutex<Chooser?>(nil)
    /// Held shared by every BLAS and LAPACKE call of Tessera, exclusively while kernels load.
    static let access = ReadersWriterLock()

    /// What runs now and why.
    public static var current: Choice {
        let name = BLAS.coreName
        let chosen = chooser.withLock { $0 } ?? userSetting.map(Chooser.user) ?? .openBLAS
        let widest = KernelFamily.widest(for: CPU.current.features)
        return Choice(
            coreName: name, family: KernelFamily(openBLASCore: name), chooser: chosen, widestSupported: widest,
            preferred: expected(widest: widest))
    }

    /// The family Tessera loads on this CPU unless timing overrules it: AVX2 where `widest`
    /// runs in halves, else `widest`.
    private static func expected(widest: KernelFamily) -> KernelFamily {
        runsInHalves(widest, datapathBits: CPU.current.vectorDatapathBits) ? .avx2 : widest
    }

    /// The family Tessera should load instead of `running`, or nil to keep it: nil when
    /// the user set `OPENBLAS_CORETYPE`, when `running` is unknown (not an x86 family) or
    /// already as wide as `widest`.
    package static func replacement(for running: String, widest: KernelFamily, userSetting: String?) -> KernelFamily? {
        guard userSetting == nil, let family = KernelFamily(openBLASCore: running), family < widest else { return nil }
        return widest
    }

    /// The family to run when the user set none: the widest the CPU supports, except where
    /// that is an AVX-512 family and the CPU's vector datapath (`datapathBits`) is
    /// narrower than 512 bits. There the AVX2 kernels run, unless `rate` (GFLOP/s of a
    /// family's sgemm, called only then) finds the widest faster by more than
    /// ``wideKernelsMargin``: a guard against a CPU that misreports its datapath, set so
    /// far from the rates seen that timing noise cannot change the choice from one run to
    /// the next (results then stay reproducible).
    package static func preferred(
        widest: KernelFamily, datapathBits: Int?, rate: (KernelFamily) -> Double
    ) -> KernelFamily {
        guard runsInHalves(widest, datapathBits: datapathBits) else { return widest }
        let narrow = rate(.avx2)
        return rate(widest) > narrow * (1 + wideKernelsMargin) ? widest : .avx2
    }

    /// Whether `widest` is an AVX-512 family whose instructions a datapath of `datapathBits`
    /// executes in parts.
    private static func runsInHalves(_ widest: KernelFamily, datapathBits: Int?) -> Bool {
        guard widest >= .avx512, let bits = datapathBits else { return false }
        return bits < 512
    }

    /// How much faster the AVX-512 kernels must time on a narrow datapath to be kept.
    package static let wideKernelsMargin = 0.25

    /// Loads the kernels Tessera runs on this CPU: those of the user's `OPENBLAS_CORETYPE`
    /// when it is set, else the ``preferred(widest:datapathBits:rate:)`` family, loaded
    /// whenever a narrower one runs (OpenBLAS's pick, or one loaded since) or when timing
    /// decided. Kernels that compute wrongly are replaced by OpenBLAS's own choice, and
    /// standard error says so in one line.
    @discardableResult
    public static func chooseForCPU() -> Choice {
        let running = BLAS.coreName
        if let userSetting {
            if running.lowercased() != userSetting.lowercased() {
                try? reload(coreName: userSetting)
                chooser.withLock { $0 = nil }
            }
            return current
        }
        let widest = KernelFamily.widest(for: CPU.current.features)
        var rates: [KernelFamily: Double] = [:]
        let target = preferred(widest: widest, datapathBits: CPU.current.vectorDatapathBits) { family in
            if rates.isEmpty { rates = alternatedRates(of: [.avx2, widest]) }
            return rates[family] ?? 0
        }
        if !rates.isEmpty {
            let other = target == widest ? KernelFamily.avx2 : widest
            do {
                if BLAS.coreName.lowercased() != target.coreName.lowercased() { try reloadChecked(coreName: target.coreName) }
                chooser.withLock { $0 = .timed(rate: rates[target] ?? 0, other: other.coreName, otherRate: rates[other] ?? 0) }
            } catch {
                chooser.withLock { $0 = .fallback(rejected: target.coreName, reason: "\(error)") }
                FileHandle.standardError.write(Data("tessera: \(current)\n".utf8))
            }
            return current
        }
        guard let family = replacement(for: running, widest: widest, userSetting: nil) else {
            return current
        }
        do {
            try reloadChecked(coreName: family.coreName)
            chooser.withLock { $0 = .tessera(replacing: running) }
        } catch {
            chooser.withLock { $0 = .fallback(rejected: family.coreName, reason: "\(error)") }
            FileHandle.standardError.write(Data("tessera: \(current)\n".utf8))
        }
        return current
    }

    /// Loads the kernels of OpenBLAS core `coreName` (e.g. "SkylakeX") in this process
    /// and checks them against a reference loop.
    ///
    /// - Returns: their ``gemmError()``.
    /// - Throws: ``BLASKernelsError`` when the CPU lacks the family's instructions, the
    ///   OpenBLAS library cannot switch kernels, or the kernels compute wrongly (OpenBLAS's
    ///   own choice is then loaded again).
    @discardableResult
    public static func load(coreName: String) throws -> Float {
        guard let family = KernelFamily(openBLASCore: coreName) else { throw BLASKernelsError.unknownCore(coreName) }
        guard family.isSupported(by: CPU.current.features) else {
            throw BLASKernelsError.unsupported(coreName: coreName, family: family, cpu: CPU.current.features.summary)
        }
        do {
            let error = try reloadChecked(coreName: coreName)
            chooser.withLock { $0 = .program }
            return error
        } catch {
            chooser.withLock { $0 = nil }
            throw error
        }
    }

    /// Each family's best ``timedRate(of:)`` over two rounds that take the families in turn,
    /// so that a slow phase of the machine does not fall on one family alone (0 for kernels
    /// that fail their check).
    private static func alternatedRates(of families: [KernelFamily]) -> [KernelFamily: Double] {
        var best: [KernelFamily: Double] = [:]
        for _ in 0..<2 {
            for family in families { best[family] = max(best[family] ?? 0, (try? timedRate(of: family)) ?? 0) }
        }
        return best
    }

    /// GFLOP/s of `family`'s kernels, loaded and checked, on an sgemm of a convolution's
    /// shape (256 output channels, 1024 pixels, K = 576): the best of five calls after one
    /// to warm up, on the threads OpenBLAS has.
    private static func timedRate(of family: KernelFamily) throws -> Double {
        try reloadChecked(coreName: family.coreName)
        let (m, n, k) = (256, 1024, 576)
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for call in 0..<6 {
            let start = DispatchTime.now().uptimeNanoseconds
            BLAS.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if call > 0 { best = min(best, seconds) }
        }
        return 2 * Double(m * n * k) / best / 1e9
    }

    /// ``reload(coreName:)`` and the ``gemmError()`` check; kernels that fail either are
    /// replaced by OpenBLAS's own choice before the error is thrown.
    @discardableResult
    private static func reloadChecked(coreName: String) throws -> Float {
        do {
            try reload(coreName: coreName)
            let error = gemmError()
            guard error <= tolerance else { throw BLASKernelsError.wrongResults(coreName: coreName, error: error) }
            return error
        } catch {
            try? reload(coreName: nil)
            throw error
        }
    }

    /// Re-runs OpenBLAS's kernel selection with `OPENBLAS_CORETYPE` set to `coreName`
    /// (nil: unset, OpenBLAS's own choice), restoring the variable afterwards so that
    /// child processes see the user's setting.
    ///
    /// OpenBLAS reads the variable in `gotoblas_dynamic_init`, which runs when the library
    /// is loaded and again after `gotoblas_dynamic_quit`; both are exported by
    /// `DYNAMIC_ARCH` builds but not declared in `cblas.h`, so they are looked up at run
    /// time.
    private static func reload(coreName: String?) throws {
        guard let quit = symbol("gotoblas_dynamic_quit"), let initialize = symbol("gotoblas_dynamic_init") else {
            throw BLASKernelsError.cannotSwitch
        }
        try access.exclusively {
            let previous = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
            if let coreName { setenv("OPENBLAS_CORETYPE", coreName, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
            defer { if let previous { setenv("OPENBLAS_CORETYPE", previous, 1) } else { unsetenv("OPENBLAS_CORETYPE") } }
            quit()
            initialize()
            let loaded = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
            if let coreName, loaded.lowercased() != coreName.lowercased() {
                throw BLASKernelsError.notLoaded(requested: coreName, running: loaded)
            }
        }
    }

    private typealias VoidFunction = @convention(c) () -> Void

    private static func symbol(_ name: String) -> VoidFunction? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: VoidFunction.self)
    }

    /// Printed once, on the first GEMM of a process whose kernels nobody chose, when
    /// OpenBLAS runs a narrower family than the CPU supports (than AVX2, where AVX-512 runs
    /// in halves).
    static let noticeOnce: Void = {
        let running = BLAS.coreName
        guard chooser.withLock({ $0 == nil }),
              let family = replacement(for: running, widest: expected(widest: KernelFamily.widest(for: CPU.current.features)), userSetting: userSetting)
        else { return }
        FileHandle.standardError.write(Data("""
            tessera: OpenBLAS runs its \(running) kernels, but this CPU supports \(family.instructions); \
            call BLASKernels.chooseForCPU() at start, or run with OPENBLAS_CORETYPE=\(family.coreName), \
            for the faster \(family.coreName) kernels

            """.utf8))
    }()
}

/// Why kernels could not be loaded.
public enum BLASKernelsError: Error, CustomStringConvertible, Equatable {
    case unknownCore(String)
    case unsupported(coreName: String, family: KernelFamily, cpu: String)
    case cannotSwitch
    case notLoaded(requested: String, running: String)
    case wrongResults(coreName: String, error: Float)

    public var description: String {
        switch self {
        case .unknownCore(let name): "'\(name)' is not an OpenBLAS x86-64 core name (e.g. Prescott, Haswell, SkylakeX, Cooperlake)"
        case .unsupported(let name, let family, let cpu): "\(name) kernels need \(family.instructions), which this CPU (\(cpu)) lacks"
        case .cannotSwitch: "this OpenBLAS cannot switch kernels while running (no gotoblas_dynamic_init: not a DYNAMIC_ARCH build)"
        case .notLoaded(let requested, let running): "OpenBLAS loaded \(running) when asked for \(requested)"
        case .wrongResults(let name, let error): "\(name) kernels' sgemm differs from the reference loop by \(error) (relative)"
        }
    }
}
