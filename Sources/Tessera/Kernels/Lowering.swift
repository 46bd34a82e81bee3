/// Schedules the im2col/col2im lowering of a whole batch for the convolution kernels.
///
/// Each image's column matrix is cut into tiles of output rows of at most
/// ``Convolution2D/tileElements`` floats, lowered one after another into one reused
/// workspace buffer: im2col (or col2im) splits over the cores, the GEMM between them runs
/// on OpenBLAS's threads. A pointwise geometry (1×1, stride 1, no padding) has each image
/// as its own column matrix: one tile per image, no copy.
///
/// Measured here (`tessera bench conv`): tiles of 2^20 floats beat whole-image column
/// matrices by a few per cent, and smaller, L2-sized tiles lose more in GEMM efficiency
/// than they gain in cache hits — also when the two cores take tiles of their own with
/// single-threaded GEMMs, because OpenBLAS's idle threads then spin against our workers.
struct Lowering {
    /// The part of one image's column matrix that a tile covers.
    struct Tile {
        let image: Int
        /// The tile's column matrix `[K, pixels]` (leading dimension `pixels`), or for a
        /// pointwise geometry the image itself.
        let columns: UnsafeMutablePointer<Float>
        /// The first output pixel of the tile and the number of pixels it covers.
        let firstPixel: Int
        let pixels: Int
    }

    let geometry: ConvolutionGeometry
    let batch: Int
    private let rowTiles: [Range<Int>]
    private let buffer: UnsafeMutablePointer<Float>?

    init(geometry: ConvolutionGeometry, batch: Int, workspace: Workspace) {
        self.geometry = geometry
        self.batch = batch
        if geometry.isPointwise {
            rowTiles = [0..<geometry.outputSize.height]
            buffer = nil
        } else {
            rowTiles = geometry.outputRowTiles(maximumElements: Convolution2D.tileElements)
            let largest = rowTiles.map(\.count).max() ?? 0
            buffer = workspace.buffer(count: geometry.columnRows * largest * geometry.outputSize.width)
        }
    }

    /// Runs `body` for every tile of the column matrices of `images` (`[N, C, H, W]`),
    /// after im2col has filled the tile.
    func forEachTile(of images: UnsafePointer<Float>, _ body: (Tile) -> Void) {
        for image in 0..<batch {
            let source = UnsafeMutablePointer(mutating: images) + image * geometry.inputCount
            for rows in rowTiles {
                if let buffer { Im2col.im2col(source, geometry: geometry, outputRows: rows, into: buffer) }
                body(tile(image: image, rows: rows, columns: buffer ?? source))
            }
        }
    }

    /// Runs `body` to fill every tile of a column matrix, then scatters the tile onto
    /// `images` (`[N, C, H, W]`, col2im); each image ends up holding the sum over its tiles.
    func forEachTileScattered(into images: UnsafeMutablePointer<Float>, _ body: (Tile) -> Void) {
        for image in 0..<batch {
            let target = images + image * geometry.inputCount
            for (index, rows) in rowTiles.enumerated() {
                body(tile(image: image, rows: rows, columns: buffer ?? target))
                if let buffer {
                    Im2col.col2im(buffer, geometry: geometry, outputRows: rows, accumulate: index > 0, into: target)
                }
            }
        }
    }

    /// `Σ over images and tiles of A[rows, P] · cols[K, P]ᵀ` as a new tensor of `shape`
    /// (`rows × K` elements): the weight gradient of both convolutions, whose column
    /// matrices come from `images` and whose `A` for each image is the `[rows, Ho·Wo]`
    /// matrix at `factors + image · rows · Ho·Wo`.
    func sumOfProducts(columnsOf images: UnsafePointer<Float>, factors: UnsafePointer<Float>, rows: Int, shape: [Int]) -> Tensor {
        let result = Tensor(shape: shape, repeating: 0)
        forEachTile(of: images) { tile in
            // W[rows, K] += A[rows, P] · cols[K, P]ᵀ: M = rows, N = K, K = P, B transposed.
            BLAS.gemm(
                transposeB: true, m: rows, n: geometry.columnRows, k: tile.pixels,
                a: factors + tile.image * rows * geometry.columnCount + tile.firstPixel, lda: geometry.columnCount,
                b: tile.columns, ldb: tile.pixels,
                beta: 1,
                c: result.storage.pointer, ldc: geometry.columnRows)
        }
        return result
    }

    private func tile(image: Int, rows: Range<Int>, columns: UnsafeMutablePointer<Float>) -> Tile {
        let width = geometry.outputSize.width
        return Tile(image: image, columns: columns, firstPixel: rows.lowerBound * width, pixels: rows.count * width)
    }
}
