import ArgumentParser
import Foundation
import Tessera
import TesseraDistributed

/// `tessera selfcheck`: a quick end-to-end check that the engine and its libraries work.
struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Check OpenBLAS, LAPACKE and safetensors I/O on this machine, and say what runs.",
        discussion: """
            Prints the CPU (vector features, L2 cache), the threads, and which OpenBLAS kernels \
            run and who chose them, then checks sgemm against a reference loop, LAPACKE and \
            safetensors. --every-kernel-family loads each kernel family the CPU supports in \
            turn, checks and times it, and ends on the kernels Tessera chooses. Under mpirun it \
            also checks the all-reduce and data-parallel gradients over the job's processes \
            (rank 0 reports).
            """)

    @Flag(help: "Check and time every OpenBLAS kernel family this CPU supports, then choose again.")
    var everyKernelFamily = false

    func run() throws {
        let communicator = Communicator.isLaunchedByMPI ? try Communicator.world() : nil
        let speaks = (communicator?.rank ?? 0) == 0
        func report(_ check: String, error: Float, limit: Float) {
            let passed = error <= limit
            if speaks { print("\(passed ? "ok  " : "FAIL") \(check) (max error \(error))") }
            if !passed { Foundation.exit(1) }
        }
        if speaks { MachineReport.lines.forEach { print($0) } }
        if everyKernelFamily { try checkEveryKernelFamily() }
        report("sgemm against a double-precision loop (relative)", error: BLASKernels.gemmError(), limit: BLASKernels.tolerance)

        var generator = RandomGenerator(seed: 7)
        let a = Tensor.normal([64, 64], using: &generator)
        let x = Tensor.normal([64, 3], using: &generator)

        let product = a.matmul(x)
        let solved = try LinearAlgebra.solve(a, product)
        report("LAPACKE solve of A·X = B recovers X", error: solved.maximumAbsoluteDifference(to: x), limit: 1e-3)

        let (u, s, vt) = try LinearAlgebra.svd(a)
        var scaledU = u
        for row in 0..<64 { for column in 0..<64 { scaledU[row, column] *= s[column] } }
        report("SVD reconstructs A", error: scaledU.matmul(vt).maximumAbsoluteDifference(to: a), limit: 1e-3)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-selfcheck-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("check.safetensors")
        try SafeTensors(tensors: ["a": a], metadata: ["purpose": "selfcheck"]).write(to: file)
        let loaded = try SafeTensors.read(from: file)
        report("safetensors round trip", error: try loaded.tensor("a").maximumAbsoluteDifference(to: a), limit: 0)
        if let communicator {
            for (check, error) in DistributedSelfCheck.run(communicator) { report(check, error: error, limit: 1e-5) }
        }
        guard speaks else { return }
        print("Engine self-check passed (OpenBLAS threads: \(BLAS.threadCount), \(BLAS.coreName) kernels).")
    }

    /// Loads each supported family, widest first, checking and timing it; then lets
    /// Tessera choose from the narrowest, as it would from a CPU that OpenBLAS does not know.
    private func checkEveryKernelFamily() throws {
        var failed: [String] = []
        for family in KernelFamily.allCases.reversed() where family.isSupported(by: CPU.current.features) {
            let name = "\(family.coreName) (\(family.instructions))"
            do {
                let error = try BLASKernels.load(coreName: family.coreName)
                print(String(format: "ok   %@: sgemm error %.1e, 1024² at %.0f GFLOP/s", name, error, Self.gemmGigaflops(size: 1024)))
            } catch {
                print("FAIL \(name): \(error)")
                failed.append(family.coreName)
            }
        }
        print("chosen from \(BLAS.coreName): \(BLASKernels.chooseForCPU())")
        if !failed.isEmpty { throw ExitCode.failure }
    }

    /// The median GFLOP/s of a square sgemm of `size`.
    private static func gemmGigaflops(size n: Int) -> Double {
        var generator = RandomGenerator(seed: 3)
        let a = Tensor.uniform([n * n], using: &generator).scalars, b = Tensor.uniform([n * n], using: &generator).scalars
        var c = [Float](repeating: 0, count: n * n)
        let seconds = Timing.median(minimumSeconds: 0.2) { BLAS.gemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: &c, ldc: n) }
        return 2 * Double(n * n * n) / seconds / 1e9
    }

}
