/// What Tessera computes with: how many threads (OpenBLAS's for each GEMM, and the workers
/// that split im2col, col2im and elementwise kernels) and how the convolution kernels cut
/// their work. Task-local, like the gradient tape: ``withExecutionContext(_:_:)`` sets one
/// for a body and the tasks it starts, so two models in one program can run with settings
/// of their own. Outside any, the machine's: a thread per core the process may use (after
/// affinity and cgroup CPU quota) and the tuning of its CPU and OpenBLAS kernels.
public struct ExecutionContext: Sendable, Equatable {
    /// Threads per computation, at least 1.
    public var threads: Int
    public var tuning: KernelTuning

    public init(threads: Int = CoreBudget.current.threads, tuning: KernelTuning = .machine) {
        require(threads >= 1, "ExecutionContext: threads must be at least 1, got \(threads)")
        self.threads = threads
        self.tuning = tuning
    }

    /// The context of the calling task, or the machine's; with one thread in a part of a
    /// parallel loop, whose other parts keep the other threads busy.
    public static var current: ExecutionContext {
        var context = installed ?? machine
        if isInsideParallelPart { context.threads = 1 }
        return context
    }

    /// The machine's context, as it stands now (its tuning follows the kernels OpenBLAS
    /// runs, which ``BLASKernels/chooseForCPU()`` may change).
    public static var machine: ExecutionContext { ExecutionContext() }

    /// ``current``'s thread count, without working out its tuning.
    static var currentThreads: Int { isInsideParallelPart ? 1 : installed?.threads ?? CoreBudget.current.threads }

    @TaskLocal static var installed: ExecutionContext?
    /// Whether the calling thread runs a part of a parallel loop (see ``Parallel``).
    @TaskLocal static var isInsideParallelPart = false
}

/// Runs `body` with `context` as ``ExecutionContext/current``, for it and the tasks it
/// starts; threads it starts itself (Dispatch, `Thread`) start from the machine's context.
public func withExecutionContext<Result>(_ context: ExecutionContext, _ body: () throws -> Result) rethrows -> Result {
    try ExecutionContext.$installed.withValue(context, operation: body)
}
