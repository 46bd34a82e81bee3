/// The sizes by which the convolution kernels cut their work, derived from the machine:
/// tile sizes from the L2 cache of one core, row padding from the OpenBLAS kernel family
/// that runs. docs/performance.md has the measurements behind each rule.
public struct KernelTuning: Sendable, Equatable {
    /// The column-matrix floats of a tile that one core lowers on its own (about: tiles
    /// are whole output rows).
    public let coreTileElements: Int
    /// The largest column-matrix tile, in floats, of a pass whose tiles the cores share.
    public let sharedTileElements: Int
    /// How many floats each row of a lowered column matrix has beyond its tile's width.
    public let columnPadding: Int

    /// Explicit sizes, e.g. for tests that need a given tiling.
    public init(coreTileElements: Int, sharedTileElements: Int, columnPadding: Int) {
        require(coreTileElements > 0 && sharedTileElements > 0, "KernelTuning: tile sizes must be positive")
        require(columnPadding >= 0, "KernelTuning: column padding must not be negative, got \(columnPadding)")
        self.coreTileElements = coreTileElements
        self.sharedTileElements = sharedTileElements
        self.columnPadding = columnPadding
    }

    /// The rules: a core's tile holds twice its L2 cache in floats, a shared tile twice
    /// that; rows are padded by 32 floats for the AVX-512 kernels, which pack rows that lie
    /// a power of two apart slowly, and left dense for the others.
    ///
    /// - Parameter l2CacheBytes: one core's L2 cache (1 MB when unknown).
    public init(l2CacheBytes: Int?, kernelFamily: KernelFamily?) {
        let l2Floats = max(l2CacheBytes ?? 1 << 20, 64 << 10) / MemoryLayout<Float>.size
        self.init(
            coreTileElements: 2 * l2Floats, sharedTileElements: 4 * l2Floats,
            columnPadding: (kernelFamily ?? .avx2) >= .avx512 ? 32 : 0)
    }

    /// The tuning for this CPU and the kernels OpenBLAS runs now.
    public static var machine: KernelTuning {
        KernelTuning(l2CacheBytes: CPU.current.l2CacheBytes, kernelFamily: BLASKernels.current.family)
    }
}
