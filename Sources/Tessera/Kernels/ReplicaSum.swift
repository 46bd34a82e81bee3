/// Sums values over the replicas of a data-parallel job: what batch norm needs to
/// normalise with the statistics of the whole global batch (PyTorch's `SyncBatchNorm`).
/// TesseraDistributed's MPI communicator is one.
public protocol ReplicaSum: AnyObject, Sendable {
    /// Replaces `values` by their element-wise sum over all replicas. Every replica calls
    /// it the same number of times, in the same order, with the same count.
    func sumOverReplicas(_ values: inout [Double])
}
