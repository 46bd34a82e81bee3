import Foundation

/// A growable scratch buffer for column matrices, reused across calls so that the
/// steady state of training allocates nothing for im2col.
///
/// A workspace is used by one thread at a time; ``forCurrentThread`` gives each thread
/// its own.
public final class Workspace: @unchecked Sendable {
    private var storage = TensorStorage(count: 0)
    /// How many floats each row of a column matrix lowered here has beyond its tile's
    /// width (see ``rowPaddingForBLASKernels``).
    public let columnPadding: Int

    public init(columnPadding: Int = Workspace.rowPaddingForBLASKernels) {
        require(columnPadding >= 0, "Workspace: column padding must not be negative, got \(columnPadding)")
        self.columnPadding = columnPadding
    }

    /// 32 floats when OpenBLAS runs AVX-512 kernels, else none.
    ///
    /// Tile widths are mostly powers of two (rows of 256, 128, … pixels). OpenBLAS's
    /// AVX-512 kernels pack a matrix whose rows lie a power of two apart much more slowly:
    /// measured here on one thread, unpadded against padded by 32 floats, 32×1024×288
    /// (forward) 127 → 154 GFLOP/s, 16×1024×144 91 → 136, 288×1024×32 (input gradient)
    /// 139 → 173, 32×288×1024 (weight gradient) 93 → 131; all 3×3 passes of config i
    /// 64.4 → 61.4 ms. Its AVX2 (Haswell) kernels are not: there padding made those passes
    /// 4 % slower (78.5 → 81.7 ms).
    public static let rowPaddingForBLASKernels = BLAS.runsAVX512Kernels ? 32 : 0

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
