/// The number of cores Tessera computes on: OpenBLAS's threads for GEMM and the workers
/// that split im2col, col2im and elementwise kernels.
public enum Threads {
    /// Both pools at once; defaults to every core of the machine.
    public static var count: Int {
        get { Parallel.workerCount }
        set {
            require(newValue >= 1, "Threads.count must be at least 1, got \(newValue)")
            Parallel.workerCount = newValue
            BLAS.threadCount = newValue
        }
    }
}
