/// Schedules the im2col/col2im lowering of a whole batch for the convolution kernels.
///
/// Every GEMM of a convolution multiplies a column matrix `[K, P]` with a *factor*: the
/// `[channels, P]` matrix of one image of another tensor (the output, the output gradient
/// or, for transposed convolution, the input). The lowering cuts the batch into tiles of
/// at most ``Convolution2D/tileElements`` column-matrix floats, lowered one after another
/// into one reused workspace buffer: im2col (or col2im) splits over the cores, the GEMM
/// between them runs on OpenBLAS's threads.
///
/// - A large image is cut into tiles of output rows; its factor is used in place.
/// - Small images (the deep levels of a U-Net) are grouped whole, side by side, so that
///   one GEMM with `N = images·P` replaces several small ones; their factors are gathered
///   into (or scattered from) a `[channels, images·P]` scratch matrix. Measured here on
///   4×128² at 8² (`K = 1152`, `M = 256`): one GEMM of N = 256 takes 0.78 ms where four of
///   N = 64 take 1.12 ms.
/// - A pointwise geometry (1×1, stride 1, no padding) has each image as its own column
///   matrix: one tile per image, no copy.
///
/// Measured here (`tessera bench conv`): tiles of 2^20 floats beat whole-image column
/// matrices by a few per cent, and smaller, L2-sized tiles lose more in GEMM efficiency
/// than they gain in cache hits — also when the two cores take tiles of their own with
/// single-threaded GEMMs, because OpenBLAS's idle threads then spin against our workers.
struct Lowering {
    /// What a GEMM sees of one tile.
    struct Tile {
        /// The tile's pixels over all its images: the GEMM's N (or K for the weight
        /// gradient) and the leading dimension of `columns`.
        let width: Int
        /// The column matrix `[K, width]`, or for a pointwise geometry the image itself.
        let columns: UnsafeMutablePointer<Float>
        /// The factor matrix `[channels, width]` at leading dimension `factorStride`.
        let factors: UnsafeMutablePointer<Float>
        let factorStride: Int
    }

    /// How a GEMM uses the factor tensor `[N, channels, P]`: read before it, or written by it.
    enum Factors {
        case read(UnsafePointer<Float>)
        case written(UnsafeMutablePointer<Float>)
    }

    let geometry: ConvolutionGeometry
    let batch: Int
    let factorChannels: Int
    private let placements: [Placement]
    private let columnBuffer: UnsafeMutablePointer<Float>?
    private let factorBuffer: UnsafeMutablePointer<Float>?

    /// - Parameter factorChannels: the channels of the factor tensor.
    init(geometry: ConvolutionGeometry, batch: Int, factorChannels: Int, workspace: Workspace) {
        self.geometry = geometry
        self.batch = batch
        self.factorChannels = factorChannels
        placements = Self.placements(geometry: geometry, batch: batch)
        let width = placements.map { $0.width(outputWidth: geometry.outputSize.width) }.max() ?? 0
        if geometry.isPointwise {
            (columnBuffer, factorBuffer) = (nil, nil)
        } else if placements.contains(where: { $0.images.count > 1 }) {
            let buffer = workspace.buffer(count: (geometry.columnRows + factorChannels) * width)
            (columnBuffer, factorBuffer) = (buffer, buffer + geometry.columnRows * width)
        } else {
            (columnBuffer, factorBuffer) = (workspace.buffer(count: geometry.columnRows * width), nil)
        }
    }

    /// How the batch is cut, tile by tile in order: whole images in groups as large as fit
    /// a tile when at least two fit, else each image in ranges of output rows.
    private static func placements(geometry: ConvolutionGeometry, batch: Int) -> [Placement] {
        let imageColumns = geometry.columnRows * geometry.columnCount, allRows = 0..<geometry.outputSize.height
        let (imagesPerTile, rowTiles): (Int, [Range<Int>])
        if geometry.isPointwise {
            (imagesPerTile, rowTiles) = (1, [allRows])
        } else if batch > 1 && 2 * imageColumns <= Convolution2D.tileElements {
            (imagesPerTile, rowTiles) = (min(batch, Convolution2D.tileElements / imageColumns), [allRows])
        } else {
            (imagesPerTile, rowTiles) = (1, geometry.outputRowTiles(maximumElements: Convolution2D.tileElements))
        }
        return stride(from: 0, to: batch, by: imagesPerTile).flatMap { first in
            rowTiles.map { Placement(images: first..<min(first + imagesPerTile, batch), rows: $0) }
        }
    }

    /// The width (pixels over all images) of every tile of a batch, in order: the N of
    /// each GEMM a forward or backward-data pass issues.
    static func tileWidths(geometry: ConvolutionGeometry, batch: Int) -> [Int] {
        placements(geometry: geometry, batch: batch).map { $0.width(outputWidth: geometry.outputSize.width) }
    }

    /// Runs `body` for every tile of the column matrices of `images` (`[N, C, H, W]`),
    /// after im2col has filled the tile and a read factor has been gathered; a written
    /// factor is scattered to its tensor after `body`.
    private func forEachTile(of images: UnsafePointer<Float>, factors: Factors, _ body: (Tile) -> Void) {
        for placement in placements {
            if let columnBuffer { fillColumns(columnBuffer, of: images, at: placement) }
            withTile(at: placement, columnsOf: UnsafeMutablePointer(mutating: images), factors: factors, body)
        }
    }

    /// Runs `body` (with a read factor gathered) to fill every tile of a column matrix,
    /// then scatters the tile onto `images` (`[N, C, H, W]`, col2im); each image ends up
    /// holding the sum over its tiles.
    private func forEachTileScattered(into images: UnsafeMutablePointer<Float>, factors: UnsafePointer<Float>, _ body: (Tile) -> Void) {
        for placement in placements {
            withTile(at: placement, columnsOf: images, factors: .read(factors), body)
            if let columnBuffer { scatterColumns(columnBuffer, at: placement, onto: images) }
        }
    }

    /// `factors = W · cols` for every tile, `W` being `[R, K]` with `R` the factor
    /// channels, written to the factor tensor `output` (`[N, R, P]`): the forward pass of a
    /// convolution, the input gradient of a transposed one.
    func weightTimesColumns(of images: UnsafePointer<Float>, weight: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        forEachTile(of: images, factors: .written(output)) { tile in
            // F[R, P] = W[R, K] · cols[K, P]: M = R, N = P, K = K.
            BLAS.gemm(
                m: factorChannels, n: tile.width, k: geometry.columnRows,
                a: weight, lda: geometry.columnRows,
                b: tile.columns, ldb: tile.width,
                c: tile.factors, ldc: tile.factorStride)
        }
    }

    /// `images = col2im(Wᵀ · factors)`, `W` being `[R, K]` with `R` the factor channels and
    /// `factors` `[N, R, P]`: the input gradient of a convolution, the forward pass of a
    /// transposed one.
    func transposedWeightTimesFactors(
        _ factors: UnsafePointer<Float>, weight: UnsafePointer<Float>, scatteredInto images: UnsafeMutablePointer<Float>
    ) {
        forEachTileScattered(into: images, factors: factors) { tile in
            // cols[K, P] = W[R, K]ᵀ · F[R, P]: M = K, N = P, K = R, A transposed.
            BLAS.gemm(
                transposeA: true, m: geometry.columnRows, n: tile.width, k: factorChannels,
                a: weight, lda: geometry.columnRows,
                b: tile.factors, ldb: tile.factorStride,
                c: tile.columns, ldc: tile.width)
        }
    }

    /// `Σ over images and tiles of F[R, P] · cols[K, P]ᵀ` as a new tensor of `shape`
    /// (`R × K` elements): the weight gradient of both convolutions, whose column
    /// matrices come from `images` and whose `F` for each image is that image's
    /// `[R, Ho·Wo]` matrix of `factors`.
    func sumOfProducts(columnsOf images: UnsafePointer<Float>, factors: UnsafePointer<Float>, shape: [Int]) -> Tensor {
        let result = Tensor(shape: shape, repeating: 0)
        forEachTile(of: images, factors: .read(factors)) { tile in
            // W[R, K] += F[R, P] · cols[K, P]ᵀ: M = R, N = K, K = P, B transposed.
            BLAS.gemm(
                transposeB: true, m: factorChannels, n: geometry.columnRows, k: tile.width,
                a: tile.factors, lda: tile.factorStride,
                b: tile.columns, ldb: tile.width,
                beta: 1,
                c: result.storage.pointer, ldc: geometry.columnRows)
        }
        return result
    }

    /// Where a tile lies in the batch: its images and output rows.
    private struct Placement {
        let images: Range<Int>
        let rows: Range<Int>

        /// The tile's pixels over all its images.
        func width(outputWidth: Int) -> Int { images.count * rows.count * outputWidth }
    }

    /// Calls `body` with the tile at `placement`: its factor matrix in place for a
    /// one-image tile, else gathered into (read) or scattered from (written) the scratch
    /// matrix; its columns in the workspace, or for a pointwise geometry in `images`.
    private func withTile(
        at placement: Placement, columnsOf images: UnsafeMutablePointer<Float>, factors: Factors, _ body: (Tile) -> Void
    ) {
        let g = geometry, width = placement.width(outputWidth: g.outputSize.width)
        let columns = columnBuffer ?? images + placement.images.lowerBound * g.inputCount
        let tensor: UnsafeMutablePointer<Float>
        switch factors {
        case .read(let pointer): tensor = UnsafeMutablePointer(mutating: pointer)
        case .written(let pointer): tensor = pointer
        }
        guard placement.images.count > 1, let factorBuffer else {
            let firstPixel = placement.rows.lowerBound * g.outputSize.width
            body(Tile(
                width: width, columns: columns,
                factors: tensor + placement.images.lowerBound * factorChannels * g.columnCount + firstPixel,
                factorStride: g.columnCount))
            return
        }
        if case .read = factors { copyFactors(of: placement.images, gathering: true, tensor: tensor) }
        body(Tile(width: width, columns: columns, factors: factorBuffer, factorStride: width))
        if case .written = factors { copyFactors(of: placement.images, gathering: false, tensor: tensor) }
    }

    /// Copies every `[channel, image]` run of `P` floats between the factor tensor and the
    /// scratch matrix of a grouped tile.
    private func copyFactors(of images: Range<Int>, gathering: Bool, tensor: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let tensor = tensor, scratch = factorBuffer!
        let pixels = geometry.columnCount, width = images.count * pixels
        Parallel.forEach(factorChannels * images.count, grain: max(1, 4096 / pixels)) { index in
            let (channel, offset) = index.quotientAndRemainder(dividingBy: images.count)
            let inTensor = tensor + ((images.lowerBound + offset) * factorChannels + channel) * pixels
            let inScratch = scratch + channel * width + offset * pixels
            if gathering {
                inScratch.update(from: inTensor, count: pixels)
            } else {
                inTensor.update(from: inScratch, count: pixels)
            }
        }
    }

    /// im2col of the tile's images, side by side, into `columns`.
    private func fillColumns(_ columns: UnsafeMutablePointer<Float>, of images: UnsafePointer<Float>, at placement: Placement) {
        let g = geometry, rows = placement.rows, group = placement.images
        nonisolated(unsafe) let images = images, columns = columns
        let pixels = rows.count * g.outputSize.width, width = placement.width(outputWidth: g.outputSize.width)
        Parallel.forEach(g.columnRows * group.count, grain: max(1, 4096 / pixels)) { index in
            let (row, offset) = index.quotientAndRemainder(dividingBy: group.count)
            Im2col.fillRow(
                row, of: images + (group.lowerBound + offset) * g.inputCount, geometry: g, outputRows: rows,
                into: columns + row * width + offset * pixels)
        }
    }

    /// col2im of the tile's column matrix onto its images (overwriting the first tile of
    /// each image, adding the later ones).
    private func scatterColumns(_ columns: UnsafeMutablePointer<Float>, at placement: Placement, onto images: UnsafeMutablePointer<Float>) {
        let g = geometry, rows = placement.rows, group = placement.images
        let accumulate = rows.lowerBound > 0
        nonisolated(unsafe) let images = images, columns = columns
        let pixels = rows.count * g.outputSize.width, width = placement.width(outputWidth: g.outputSize.width)
        Parallel.forEach(g.channels * group.count) { index in
            let (channel, offset) = index.quotientAndRemainder(dividingBy: group.count)
            Im2col.scatterChannel(
                channel, of: columns + offset * pixels, leadingDimension: width, geometry: g, outputRows: rows,
                accumulate: accumulate, into: images + (group.lowerBound + offset) * g.inputCount)
        }
    }
}
