import Tessera

extension KernelTuning {
    /// The tile sizes the tiling tests were written for (those of a 1 MB L2), whatever the
    /// machine's, with rows padded by `columnPadding` floats.
    static func reference(columnPadding: Int = 0) -> KernelTuning {
        KernelTuning(coreTileElements: 1 << 19, sharedTileElements: 1 << 20, columnPadding: columnPadding)
    }
}
