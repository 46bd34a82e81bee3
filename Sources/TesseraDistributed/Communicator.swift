import CMPI
import Dispatch
import Foundation
import Synchronization
import Tessera

/// The processes of an MPI job (`mpirun -np N …`) as one group: each one's rank, their
/// number, and the collective operations data-parallel training needs (broadcast and
/// all-reduce of tensors, values and bytes).
///
/// Every MPI call runs on the communicator's own serial queue, so the reductions that
/// ``DataParallel`` starts during the backward pass overlap computation, and no two
/// threads ever call MPI at once (MPI's "serialised" thread level). The collective calls
/// block until every process has made the same call: all processes must call them in the
/// same order.
public final class Communicator: ReplicaSum, @unchecked Sendable {
    /// This process's number in the job, 0 ..< ``size``.
    public let rank: Int
    /// The number of processes in the job.
    public let size: Int
    private let queue = DispatchQueue(label: "tessera.mpi")
    private let world: MPI_Comm

    private init(rank: Int, size: Int, world: MPI_Comm) {
        self.rank = rank
        self.size = size
        self.world = world
    }

    /// Whether an MPI launcher (`mpirun`, `srun`) started this process: its environment
    /// names the job's size. Nothing is initialised by asking.
    public static var isLaunchedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"].contains { environment[$0] != nil }
    }

    private static let shared = Result { try Communicator.initialise() }
    private static let started = Mutex<Communicator?>(nil)

    /// The job's processes. MPI is initialised on the first call, on the calling thread,
    /// and finalised when the process exits normally.
    ///
    /// - Throws: ``CommunicatorError`` when MPI cannot start or lacks the thread support
    ///   the overlapped reductions need.
    public static func world() throws -> Communicator {
        let world = try shared.get()
        started.withLock { $0 = world }
        return world
    }

    /// The job's processes if ``world()`` has started MPI, nil otherwise (asking never
    /// starts it): for an error handler that must end the whole job.
    public static var current: Communicator? {
        started.withLock { $0 }
    }

    private static func initialise() throws -> Communicator {
        var provided: Int32 = 0
        guard MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided) == MPI_SUCCESS else {
            throw CommunicatorError("MPI_Init_thread failed")
        }
        atexit { MPI_Finalize() }
        guard provided >= Int32(MPI_THREAD_SERIALIZED) else {
            throw CommunicatorError("this MPI library provides thread level \(provided), but Tessera needs MPI_THREAD_SERIALIZED (\(MPI_THREAD_SERIALIZED))")
        }
        let world = tessera_mpi_comm_world()!
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(world, &rank)
        MPI_Comm_size(world, &size)
        return Communicator(rank: Int(rank), size: Int(size), world: world)
    }

    /// Ends every process of the job with `code` (MPI_Abort): for an error on one process
    /// that the others, waiting in a collective call, would never learn of.
    public func abort(code: Int32) -> Never {
        MPI_Abort(world, code)
        exit(code)
    }

    // MARK: All-reduce

    /// Replaces the `count` floats at `values` by their sum over all processes.
    public func sum(_ values: UnsafeMutablePointer<Float>, count: Int) {
        queue.sync { reduceInPlace(values, count: count, type: tessera_mpi_float(), operation: tessera_mpi_sum()) }
    }

    /// Starts replacing the `count` floats at `values` by their sum over all processes and
    /// returns at once; `completion` runs on the communicator's queue when it is done, with
    /// the seconds the reduction took. The memory must stay valid and untouched until then
    /// (``waitForPendingWork()``).
    public func startSum(_ values: UnsafeMutablePointer<Float>, count: Int, completion: @escaping @Sendable (Double) -> Void) {
        nonisolated(unsafe) let values = values
        queue.async { [self] in
            let start = DispatchTime.now().uptimeNanoseconds
            reduceInPlace(values, count: count, type: tessera_mpi_float(), operation: tessera_mpi_sum())
            completion(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
    }

    /// Waits until every operation started before has finished.
    public func waitForPendingWork() {
        queue.sync {}
    }

    /// The element-wise sum of `tensor` over all processes.
    public func sum(_ tensor: Tensor) -> Tensor {
        var result = tensor.detached()
        result.withUnsafeMutableBufferPointer { sum($0.baseAddress!, count: $0.count) }
        return result
    }

    /// Replaces `values` by their element-wise sum over all processes (exact for integers
    /// up to 2^53: counts of pixels, images, steps).
    public func sumOverReplicas(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let buffer = buffer
            queue.sync { reduceInPlace(buffer.baseAddress!, count: buffer.count, type: tessera_mpi_double(), operation: tessera_mpi_sum()) }
        }
    }

    /// The smallest and the largest of `value` over all processes.
    public func range(of value: Int64) -> ClosedRange<Int64> {
        var low = value, high = value
        queue.sync {
            reduceInPlace(&low, count: 1, type: tessera_mpi_long_long(), operation: tessera_mpi_min())
            reduceInPlace(&high, count: 1, type: tessera_mpi_long_long(), operation: tessera_mpi_max())
        }
        return low...high
    }

    /// Whether `condition` holds on any process.
    public func any(_ condition: Bool) -> Bool {
        range(of: condition ? 1 : 0).upperBound == 1
    }

    private func reduceInPlace(_ values: UnsafeMutableRawPointer, count: Int, type: MPI_Datatype, operation: MPI_Op) {
        var size: Int32 = 0
        MPI_Type_size(type, &size)
        // MPI counts are 32-bit: larger buffers go in parts.
        let part = Int(Int32.max) / 2
        for start in stride(from: 0, to: count, by: part) {
            MPI_Allreduce(
                tessera_mpi_in_place(), values + start * Int(size), Int32(min(part, count - start)), type, operation, world)
        }
    }

    // MARK: Broadcast

    /// `tensor` as `root` holds it, on every process (each passes a tensor of the same shape).
    public func broadcast(_ tensor: Tensor, from root: Int = 0) -> Tensor {
        var result = tensor.detached()
        result.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let buffer = buffer
            queue.sync { broadcastInPlace(UnsafeMutableRawPointer(buffer.baseAddress!), bytes: buffer.count * 4, root: root) }
        }
        return result
    }

    /// `bytes` as `root` holds them, on every process (the others may pass anything).
    public func broadcast(_ bytes: [UInt8], from root: Int = 0) -> [UInt8] {
        var count = [Int64(bytes.count)]
        count.withUnsafeMutableBytes { buffer in
            nonisolated(unsafe) let buffer = buffer
            queue.sync { broadcastInPlace(buffer.baseAddress!, bytes: 8, root: root) }
        }
        var result = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count[0]))
        result.withUnsafeMutableBytes { buffer in
            nonisolated(unsafe) let buffer = buffer
            guard let base = buffer.baseAddress else { return }
            queue.sync { broadcastInPlace(base, bytes: buffer.count, root: root) }
        }
        return result
    }

    private func broadcastInPlace(_ bytes: UnsafeMutableRawPointer, bytes count: Int, root: Int) {
        let part = Int(Int32.max) / 2
        for start in stride(from: 0, to: count, by: part) {
            MPI_Bcast(bytes + start, Int32(min(part, count - start)), tessera_mpi_byte(), Int32(root), world)
        }
    }
}

/// MPI could not be started as Tessera needs it, or the processes of a job disagree.
public struct CommunicatorError: Error, CustomStringConvertible {
    public let description: String
    /// Whether every process of the job throws this same error (a disagreement between
    /// them, rather than one process's failure).
    public let onEveryProcess: Bool

    init(_ description: String, onEveryProcess: Bool = false) {
        self.description = "MPI: " + description
        self.onEveryProcess = onEveryProcess
    }
}
