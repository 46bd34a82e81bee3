/// What Tessera computes on, for people: the CPU, the threads, and OpenBLAS's kernels with
/// who chose them.
public enum MachineReport {
    /// "CPU: …", "threads: …" and "OpenBLAS: …" lines.
    public static var lines: [String] {
        let version = BLAS.configuration.split(separator: " ").prefix(2).joined(separator: " ")
        return [
            "CPU: \(CPU.current.summary)",
            "threads: \(ExecutionContext.current.threads) (\(CoreBudget.current.summary))",
            "\(version): \(BLASKernels.current)",
        ]
    }

    /// The three lines as one.
    public static var summary: String { lines.joined(separator: "; ") }
}
