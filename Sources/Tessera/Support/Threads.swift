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

    /// On a machine with two cores, pins the calling thread to one and OpenBLAS's threads
    /// and Tessera's parallel workers to the other, so that the two never queue behind each
    /// other (see `CorePinning`); elsewhere does nothing. For a program whose computing
    /// happens on the calling thread, like the `tessera` command; threads that this thread
    /// starts afterwards inherit its core.
    public static func pinToCores() {
        CorePinning.pinCallingThread()
    }
}
