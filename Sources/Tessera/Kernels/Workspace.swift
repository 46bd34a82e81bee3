import Foundation

/// A growable scratch buffer for column matrices, reused across calls so that the
/// steady state of training allocates nothing for im2col.
///
/// A workspace is used by one thread at a time; ``forCurrentThread`` gives each thread
/// its own.
public final class Workspace: @unchecked Sendable {
    private var storage = TensorStorage(count: 0)
    private let fixedTuning: KernelTuning?

    /// A workspace whose lowering follows `tuning`, or when nil the current
    /// ``ExecutionContext``'s.
    public init(tuning: KernelTuning? = nil) {
        fixedTuning = tuning
    }

    /// The tile sizes and row padding of the column matrices lowered here now.
    public var tuning: KernelTuning { fixedTuning ?? ExecutionContext.current.tuning }

    /// A buffer of at least `count` floats; its contents are unspecified. Valid until the
    /// next call on this workspace.
    public func buffer(count: Int) -> UnsafeMutablePointer<Float> {
        if storage.count < count {
            storage = TensorStorage(count: count)
        }
        return storage.pointer
    }

    /// The number of floats currently reserved.
    public var capacity: Int { storage.count }

    /// The calling thread's workspace.
    public static var forCurrentThread: Workspace {
        let key = "tessera.workspace"
        if let workspace = Thread.current.threadDictionary[key] as? Workspace {
            return workspace
        }
        let workspace = Workspace()
        Thread.current.threadDictionary[key] = workspace
        return workspace
    }
}
