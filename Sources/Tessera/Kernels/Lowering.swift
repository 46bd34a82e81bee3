import Synchronization

/// Schedules the im2col/col2im lowering of a whole batch for the convolution kernels.
///
/// Every GEMM of a convolution multiplies a column matrix `[K, P]` with a *factor*: the
/// `[channels, P]` matrix of one image of another tensor (the output, the output gradient
/// or, for transposed convolution, the input). The lowering cuts the batch into tiles,
/// lowered into reused workspace buffers, and shares them between the cores in one of two
/// ways (``Sharing``):
///
/// - **Tiles per core**: each core takes tiles of about ``KernelTuning/coreTileElements``
///   floats of its own (at least the weights' `R × K`), fills each with im2col (or
///   empties it with col2im) around a single-threaded GEMM, with no hand-over between the
///   cores until the pass ends (faster than one multi-threaded GEMM after another:
///   docs/performance.md). A weight gradient then sums each core's tiles into sums of its
///   own, added at the end; an input gradient gives all tiles of one image, which scatter
///   onto overlapping rows, to the same core.
/// - **Every tile shared** (see ``sharing(of:geometry:factorChannels:batch:)`` for when):
///   tiles of at most ``KernelTuning/sharedTileElements`` floats (or the weights' `R × K`,
///   if larger) one after another, im2col or col2im split over the cores, the GEMM on
///   OpenBLAS's threads.
///
/// How a tile covers the batch:
/// - A large image is cut into tiles of output rows; its factor is used in place.
/// - Small images (the deep levels of a U-Net) are grouped whole, side by side, so that
///   one GEMM with `N = images·P` replaces several small ones; their factors are gathered
///   into (or scattered from) a `[channels, images·P]` scratch matrix.
/// - A pointwise geometry (1×1, stride 1, no padding) has each image as its own column
///   matrix: one tile per image, no copy.
struct Lowering {
    /// What a GEMM sees of one tile.
    struct Tile {
        /// The tile's pixels over all its images: the GEMM's N (or K for the weight
        /// gradient).
        let width: Int
        /// The column matrix `[K, width]` at leading dimension `columnStride`, or for a
        /// pointwise geometry the image itself.
        let columns: UnsafeMutablePointer<Float>
        /// `width` plus the workspace's ``KernelTuning/columnPadding`` for a lowered tile,
        /// `width` for an image used in place.
        let columnStride: Int
        /// The factor matrix `[channels, width]` at leading dimension `factorStride`.
        let factors: UnsafeMutablePointer<Float>
        let factorStride: Int
        /// Which core's share of the tiles this tile belongs to (0 when the cores share
        /// every tile).
        let part: Int
    }

    /// How a GEMM uses the factor tensor `[N, channels, P]`: read before it, or written by it.
    enum Factors {
        case read(UnsafePointer<Float>)
        case written(UnsafeMutablePointer<Float>)
    }

    /// How the cores share the work of a pass.
    enum Sharing {
        /// Tile after tile, each split over the cores: im2col/col2im in parallel loops, the
        /// GEMM on OpenBLAS's threads.
        case everyTile
        /// Each core takes whole tiles of its own (im2col and a single-threaded GEMM),
        /// handing nothing to the other core until the pass ends.
        case tilesPerCore
    }

    let geometry: ConvolutionGeometry
    let batch: Int
    let factorChannels: Int
    private let workspace: Workspace
    /// The calling task's threads and the workspace's tuning, read once: the workers of a
    /// pass see neither.
    private let context: ExecutionContext

    /// - Parameter factorChannels: the channels of the factor tensor.
    init(geometry: ConvolutionGeometry, batch: Int, factorChannels: Int, workspace: Workspace) {
        self.geometry = geometry
        self.batch = batch
        self.factorChannels = factorChannels
        self.workspace = workspace
        self.context = ExecutionContext(threads: ExecutionContext.currentThreads, tuning: workspace.tuning)
    }

    /// The tiles of one pass and the scratch each core lowers them into.
    private struct Tiling {
        let placements: [Placement]
        /// 1 for ``Sharing/everyTile``, else the number of cores taking tiles.
        let parts: Int
        /// Per part: the column buffer (nil for a pointwise geometry) and the factor scratch
        /// of grouped tiles.
        let columnBuffers: [UnsafeMutablePointer<Float>?]
        let factorBuffers: [UnsafeMutablePointer<Float>?]
    }

    /// The tiles of a pass shared as `sharing`, and how many cores take turns over them (1
    /// when they share every tile, as they also do when the pass has a pointwise geometry
    /// or a single core).
    private static func placements(
        _ sharing: Sharing, geometry g: ConvolutionGeometry, factorChannels: Int, batch: Int, context: ExecutionContext
    ) -> (placements: [Placement], parts: Int) {
        let parts = parts(sharing, geometry: g, threads: context.threads)
        // Every tile's GEMM streams the whole `[R, K]` weight matrix (or, for a weight
        // gradient, its sums) once: a tile's columns are made at least as large, so that
        // the weights cost no more traffic than the columns (docs/performance.md).
        let cacheElements = parts > 1 ? context.tuning.coreTileElements : context.tuning.sharedTileElements
        let tileElements = max(cacheElements, factorChannels * g.columnRows)
        guard parts > 1 else { return (placements(geometry: g, batch: batch, tileElements: tileElements), 1) }
        return (placements(geometry: g, batch: batch, evenlyFor: parts, tileElements: tileElements), parts)
    }

    /// How many cores take turns over the tiles of a pass shared as `sharing`.
    private static func parts(_ sharing: Sharing, geometry g: ConvolutionGeometry, threads: Int) -> Int {
        sharing == .tilesPerCore && !g.isPointwise ? threads : 1
    }

    /// The tiles for `sharing` and each part's buffers.
    private func tiling(_ sharing: Sharing) -> Tiling {
        let g = geometry
        let (placements, parts) = Self.placements(
            sharing, geometry: g, factorChannels: factorChannels, batch: batch, context: context)
        let width = placements.map { $0.width(outputWidth: g.outputSize.width) }.max() ?? 0
        guard !g.isPointwise else {
            let none = [UnsafeMutablePointer<Float>?](repeating: nil, count: parts)
            return Tiling(placements: placements, parts: parts, columnBuffers: none, factorBuffers: none)
        }
        let grouped = placements.contains { $0.images.count > 1 }
        let columnFloats = g.columnRows * columnStride(width: width)
        let perPart = columnFloats + (grouped ? factorChannels * width : 0)
        let buffer = workspace.buffer(count: parts * perPart)
        let columns = (0..<parts).map { Optional(buffer + $0 * perPart) }
        let factors = (0..<parts).map { grouped ? Optional(buffer + $0 * perPart + columnFloats) : nil }
        return Tiling(placements: placements, parts: parts, columnBuffers: columns, factorBuffers: factors)
    }

    /// The leading dimension of a lowered column matrix whose tile is `width` pixels wide:
    /// its rows padded as the workspace lays them out (``KernelTuning/columnPadding``).
    private func columnStride(width: Int) -> Int {
        width + context.tuning.columnPadding
    }

    /// How the batch is cut, tile by tile in order: whole images in groups as large as fit
    /// a tile of `tileElements` when at least two fit, else each image in ranges of output
    /// rows.
    private static func placements(geometry: ConvolutionGeometry, batch: Int, tileElements: Int) -> [Placement] {
        let imageColumns = geometry.columnRows * geometry.columnCount, allRows = 0..<geometry.outputSize.height
        let (imagesPerTile, rowTiles): (Int, [Range<Int>])
        if geometry.isPointwise {
            (imagesPerTile, rowTiles) = (1, [allRows])
        } else if batch > 1 && 2 * imageColumns <= tileElements {
            (imagesPerTile, rowTiles) = (min(batch, tileElements / imageColumns), [allRows])
        } else {
            (imagesPerTile, rowTiles) = (1, geometry.outputRowTiles(maximumElements: tileElements))
        }
        return stride(from: 0, to: batch, by: imagesPerTile).flatMap { first in
            rowTiles.map { Placement(images: first..<min(first + imagesPerTile, batch), rows: $0) }
        }
    }

    /// Tiles for `cores` cores taking turns: about `tileElements` column-matrix floats
    /// each, as many as a multiple of `cores`, and as even as whole images allow: groups of
    /// whole images when there are at least as many images as tiles, else each image cut
    /// into equal ranges of output rows.
    private static func placements(
        geometry: ConvolutionGeometry, batch: Int, evenlyFor cores: Int, tileElements: Int
    ) -> [Placement] {
        func ceilingDivision(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
        let columns = batch * geometry.columnRows * geometry.columnCount
        let tiles = ceilingDivision(max(cores, ceilingDivision(columns, tileElements)), cores) * cores
        if tiles <= batch {
            let imagesPerTile = ceilingDivision(batch, tiles)
            return stride(from: 0, to: batch, by: imagesPerTile).map {
                Placement(images: $0..<min($0 + imagesPerTile, batch), rows: 0..<geometry.outputSize.height)
            }
        }
        let height = geometry.outputSize.height
        let rowsPerTile = ceilingDivision(height, min(height, ceilingDivision(tiles, batch)))
        return (0..<batch).flatMap { image in
            stride(from: 0, to: height, by: rowsPerTile).map {
                Placement(images: image..<image + 1, rows: $0..<min($0 + rowsPerTile, height))
            }
        }
    }

    /// The width (pixels over all images) of every tile a pass shared as `sharing` cuts a
    /// batch into, in order: the N of each GEMM of a forward or backward-data pass, the K
    /// of each of a backward-weight pass.
    static func tileWidths(
        geometry: ConvolutionGeometry, factorChannels: Int, batch: Int, sharing: Sharing, context: ExecutionContext
    ) -> [Int] {
        placements(sharing, geometry: geometry, factorChannels: factorChannels, batch: batch, context: context).placements.map {
            $0.width(outputWidth: geometry.outputSize.width)
        }
    }

    /// Runs `body` for every tile of the column matrices of `images` (`[N, C, H, W]`),
    /// after im2col has filled the tile and a read factor has been gathered; a written
    /// factor is scattered to its tensor after `body`. With ``Sharing/tilesPerCore`` the
    /// cores take turns over the tiles, each running `body` (which must then not start a
    /// multi-threaded GEMM) on its own tiles only.
    private func forEachTile(
        of images: UnsafePointer<Float>, factors: Factors, sharing: Sharing, division: Division, _ body: (Tile, Loop) -> Void
    ) {
        let tiling = tiling(sharing)
        BLASThreads.holding(tiling.parts > 1 ? 1 : context.threads) {
            let tileLoop = Self.loop(parts: tiling.parts)
            forEachPlacement(of: tiling, division: division, imagesOnOneCore: false) { placement, part, loop in
                if let columns = tiling.columnBuffers[part] { fillColumns(columns, of: images, at: placement, loop: loop) }
                withTile(
                    at: placement, of: tiling, part: part, columnsOf: UnsafeMutablePointer(mutating: images), factors: factors,
                    loop: loop) { body($0, tileLoop) }
            }
        }
    }

    /// Runs `body` (with a read factor gathered) to fill every tile of a column matrix,
    /// then scatters the tile onto `images` (`[N, C, H, W]`, col2im); each image ends up
    /// holding the sum over its tiles. With ``Sharing/tilesPerCore`` each core takes whole
    /// images: the tiles of one image scatter onto overlapping rows.
    private func forEachTileScattered(
        into images: UnsafeMutablePointer<Float>, factors: UnsafePointer<Float>, sharing: Sharing, _ body: (Tile) -> Void
    ) {
        let tiling = tiling(sharing)
        BLASThreads.holding(tiling.parts > 1 ? 1 : context.threads) {
            forEachPlacement(of: tiling, division: .firstFree, imagesOnOneCore: true) { placement, part, loop in
                withTile(at: placement, of: tiling, part: part, columnsOf: images, factors: .read(factors), loop: loop, body)
                if let columns = tiling.columnBuffers[part] { scatterColumns(columns, at: placement, onto: images, loop: loop) }
            }
        }
    }

    /// How the cores of a pass with tiles per core divide its tiles.
    enum Division {
        /// A core that is done with a tile takes the next one nobody has taken, so neither
        /// waits for the other while tiles are left: for passes whose results do not depend
        /// on which core computes a tile.
        case firstFree
        /// Tile `i` goes to core `i % cores`, so that each core's sums over its tiles come
        /// out the same in every run.
        case fixedTurns
    }

    /// Calls `visit(placement, part, loop)` for every tile of `tiling`: one after another
    /// with loops split over the cores, or, with several parts, each core its own tiles
    /// (divided as `division` says) with serial loops and OpenBLAS on one thread meanwhile
    /// (each core's GEMMs are its own). With `imagesOnOneCore`, all tiles of one image go
    /// to the same core, in order.
    private func forEachPlacement(
        of tiling: Tiling, division: Division, imagesOnOneCore: Bool, _ visit: (Placement, _ part: Int, Loop) -> Void
    ) {
        guard tiling.parts > 1 else {
            for placement in tiling.placements { visit(placement, 0, Self.loop(parts: 1)) }
            return
        }
        // Runs of placements that one core takes together, in order.
        var units: [Range<Int>] = []
        for (index, placement) in tiling.placements.enumerated() {
            if imagesOnOneCore, let last = units.last, tiling.placements[last.lowerBound].images == placement.images {
                units[units.count - 1] = last.lowerBound..<index + 1
            } else {
                units.append(index..<index + 1)
            }
        }
        let nextUnit = Atomic<Int>(0)
        withoutActuallyEscaping(visit) { visit in
            nonisolated(unsafe) let visit = visit
            Parallel.forEach(tiling.parts) { part in
                func take(_ unit: Range<Int>) {
                    for index in unit { visit(tiling.placements[index], part, Self.loop(parts: tiling.parts)) }
                }
                switch division {
                case .firstFree:
                    while case let unit = nextUnit.add(1, ordering: .relaxed).oldValue, unit < units.count { take(units[unit]) }
                case .fixedTurns:
                    for unit in stride(from: part, to: units.count, by: tiling.parts) { take(units[unit]) }
                }
            }
        }
    }

    /// `factors = W · cols` for every tile, `W` being `[R, K]` with `R` the factor
    /// channels, written to the factor tensor `output` (`[N, R, P]`): the forward pass of a
    /// convolution, the input gradient of a transposed one. Each core takes tiles of its own.
    /// `epilogue` maps each tile's rows right after its GEMM, while they are in cache.
    func weightTimesColumns(
        of images: UnsafePointer<Float>, weight: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
        epilogue: ChannelAffine? = nil
    ) {
        nonisolated(unsafe) let weight = weight
        forEachTile(of: images, factors: .written(output), sharing: .tilesPerCore, division: .firstFree) { tile, loop in
            // F[R, P] = W[R, K] · cols[K, P]: M = R, N = P, K = K.
            BLAS.gemm(
                m: factorChannels, n: tile.width, k: geometry.columnRows,
                a: weight, lda: geometry.columnRows,
                b: tile.columns, ldb: tile.columnStride,
                c: tile.factors, ldc: tile.factorStride)
            guard let epilogue else { return }
            nonisolated(unsafe) let factors = tile.factors
            let (width, stride) = (tile.width, tile.factorStride)
            loop(factorChannels, max(1, 4096 / max(width, 1))) { channel in
                epilogue.apply(channel: channel, to: factors + channel * stride, width: width)
            }
        }
    }

    /// `images = col2im(Wᵀ · factors)`, `W` being `[R, K]` with `R` the factor channels and
    /// `factors` `[N, R, P]`: the input gradient of a convolution, the forward pass of a
    /// transposed one.
    func transposedWeightTimesFactors(
        _ factors: UnsafePointer<Float>, weight: UnsafePointer<Float>, scatteredInto images: UnsafeMutablePointer<Float>
    ) {
        let sharing = Self.sharing(
            of: .inputGradient, geometry: geometry, factorChannels: factorChannels, batch: batch, context: context)
        forEachTileScattered(into: images, factors: factors, sharing: sharing) { tile in
            // cols[K, P] = W[R, K]ᵀ · F[R, P]: M = K, N = P, K = R, A transposed.
            BLAS.gemm(
                transposeA: true, m: geometry.columnRows, n: tile.width, k: factorChannels,
                a: weight, lda: geometry.columnRows,
                b: tile.factors, ldb: tile.factorStride,
                c: tile.columns, ldc: tile.columnStride)
        }
    }

    /// `Σ over images and tiles of F[R, P] · cols[K, P]ᵀ` as a new tensor of `shape`
    /// (`R × K` elements): the weight gradient of both convolutions, whose column
    /// matrices come from `images` and whose `F` for each image is that image's
    /// `[R, Ho·Wo]` matrix of `factors`. When the `R × K` sums are small, each core sums
    /// tiles of its own into sums of its own, added up at the end.
    ///
    /// The first tile of each core's sums overwrites them (GEMM with β = 0) and the first
    /// core sums straight into the result: nothing is zero-filled or copied beforehand.
    func sumOfProducts(columnsOf images: UnsafePointer<Float>, factors: UnsafePointer<Float>, shape: [Int]) -> Tensor {
        let count = factorChannels * geometry.columnRows
        let sharing = Self.sharing(
            of: .weightGradient, geometry: geometry, factorChannels: factorChannels, batch: batch, context: context)
        let parts = Self.parts(sharing, geometry: geometry, threads: context.threads)
        let result = Tensor(uninitializedShape: shape)
        let otherSums = Tensor(uninitializedShape: [(parts - 1) * count])
        let started = UnsafeMutablePointer<Bool>.allocate(capacity: parts)
        started.initialize(repeating: false, count: parts)
        defer { started.deallocate() }
        nonisolated(unsafe) let sums = [result.storage.pointer] + (1..<parts).map { otherSums.storage.pointer + ($0 - 1) * count }
        nonisolated(unsafe) let startedParts = started
        forEachTile(of: images, factors: .read(factors), sharing: sharing, division: .fixedTurns) { tile, _ in
            // W[R, K] (+)= F[R, P] · cols[K, P]ᵀ: M = R, N = K, K = P, B transposed.
            BLAS.gemm(
                transposeB: true, m: factorChannels, n: geometry.columnRows, k: tile.width,
                a: tile.factors, lda: tile.factorStride,
                b: tile.columns, ldb: tile.columnStride,
                beta: startedParts[tile.part] ? 1 : 0,
                c: sums[tile.part], ldc: geometry.columnRows)
            startedParts[tile.part] = true
        }
        let sum = sums[0]
        if !started[0] { sum.update(repeating: 0, count: count) }
        for part in 1..<parts where started[part] {
            let other = sums[part]
            for index in 0..<count { sum[index] += other[index] }
        }
        return result
    }

    /// How the cores share `pass`. Each core takes tiles of its own in the forward pass; in
    /// the weight gradient when the `R × K` sums it then keeps of its own are small; and in
    /// the input gradient when the images divide evenly between the cores, since all tiles
    /// of one image, which scatter onto overlapping rows, must go to the same core.
    static func sharing(
        of pass: Convolution2D.Pass, geometry: ConvolutionGeometry, factorChannels: Int, batch: Int, context: ExecutionContext
    ) -> Sharing {
        let (cores, tuning) = (context.threads, context.tuning)
        switch pass {
        case .forward: return .tilesPerCore
        case .inputGradient: return batch % cores == 0 ? .tilesPerCore : .everyTile
        case .weightGradient:
            return (cores - 1) * factorChannels * geometry.columnRows <= tuning.coreTileElements ? .tilesPerCore : .everyTile
        }
    }

    /// Where a tile lies in the batch: its images and output rows.
    private struct Placement {
        let images: Range<Int>
        let rows: Range<Int>

        /// The tile's pixels over all its images.
        func width(outputWidth: Int) -> Int { images.count * rows.count * outputWidth }
    }

    /// A loop over `0..<count` (with a grain, as ``Parallel/forEach(_:grain:_:)`` takes).
    private typealias Loop = (_ count: Int, _ grain: Int, _ body: (Int) -> Void) -> Void

    /// How a tile's loops run: split over the cores when they share every tile (one part),
    /// serially on its core when each core takes tiles of its own.
    private static func loop(parts: Int) -> Loop {
        if parts > 1 { return serially }
        return Parallel.forEach
    }

    /// The loop of a core lowering a tile of its own.
    private static func serially(_ count: Int, _ grain: Int, _ body: (Int) -> Void) {
        for index in 0..<count { body(index) }
    }

    /// Calls `body` with the tile at `placement`: its factor matrix in place for a
    /// one-image tile, else gathered into (read) or scattered from (written) the part's
    /// scratch matrix; its columns in the part's buffer, or for a pointwise geometry in
    /// `images`.
    private func withTile(
        at placement: Placement, of tiling: Tiling, part: Int, columnsOf images: UnsafeMutablePointer<Float>, factors: Factors,
        loop: Loop, _ body: (Tile) -> Void
    ) {
        let g = geometry, width = placement.width(outputWidth: g.outputSize.width)
        let lowered = tiling.columnBuffers[part]
        let columns = lowered ?? images + placement.images.lowerBound * g.inputCount
        let rowStride = lowered == nil ? width : columnStride(width: width)
        let tensor: UnsafeMutablePointer<Float>
        switch factors {
        case .read(let pointer): tensor = UnsafeMutablePointer(mutating: pointer)
        case .written(let pointer): tensor = pointer
        }
        guard placement.images.count > 1, let scratch = tiling.factorBuffers[part] else {
            let firstPixel = placement.rows.lowerBound * g.outputSize.width
            body(Tile(
                width: width, columns: columns, columnStride: rowStride,
                factors: tensor + placement.images.lowerBound * factorChannels * g.columnCount + firstPixel,
                factorStride: g.columnCount, part: part))
            return
        }
        if case .read = factors { copyFactors(of: placement.images, gathering: true, tensor: tensor, scratch: scratch, loop: loop) }
        body(Tile(width: width, columns: columns, columnStride: rowStride, factors: scratch, factorStride: width, part: part))
        if case .written = factors { copyFactors(of: placement.images, gathering: false, tensor: tensor, scratch: scratch, loop: loop) }
    }

    /// Copies every `[channel, image]` run of `P` floats between the factor tensor and the
    /// scratch matrix of a grouped tile.
    private func copyFactors(
        of images: Range<Int>, gathering: Bool, tensor: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, loop: Loop
    ) {
        nonisolated(unsafe) let tensor = tensor, scratch = scratch
        let pixels = geometry.columnCount, width = images.count * pixels
        loop(factorChannels * images.count, max(1, 4096 / pixels)) { index in
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
    private func fillColumns(_ columns: UnsafeMutablePointer<Float>, of images: UnsafePointer<Float>, at placement: Placement, loop: Loop) {
        let g = geometry, rows = placement.rows, group = placement.images
        nonisolated(unsafe) let images = images, columns = columns
        let pixels = rows.count * g.outputSize.width
        let stride = columnStride(width: placement.width(outputWidth: g.outputSize.width))
        loop(g.columnRows * group.count, max(1, 4096 / pixels)) { index in
            let (row, offset) = index.quotientAndRemainder(dividingBy: group.count)
            Im2col.fillRow(
                row, of: images + (group.lowerBound + offset) * g.inputCount, geometry: g, outputRows: rows,
                into: columns + row * stride + offset * pixels)
        }
    }

    /// col2im of the tile's column matrix onto its images (overwriting the first tile of
    /// each image, adding the later ones).
    private func scatterColumns(
        _ columns: UnsafeMutablePointer<Float>, at placement: Placement, onto images: UnsafeMutablePointer<Float>, loop: Loop
    ) {
        let g = geometry, rows = placement.rows, group = placement.images
        let accumulate = rows.lowerBound > 0
        nonisolated(unsafe) let images = images, columns = columns
        let pixels = rows.count * g.outputSize.width
        let stride = columnStride(width: placement.width(outputWidth: g.outputSize.width))
        loop(g.channels * group.count, 1) { index in
            let (channel, offset) = index.quotientAndRemainder(dividingBy: group.count)
            Im2col.scatterChannel(
                channel, of: columns + offset * pixels, leadingDimension: stride, geometry: g, outputRows: rows,
                accumulate: accumulate, into: images + (group.lowerBound + offset) * g.inputCount)
        }
    }
}
