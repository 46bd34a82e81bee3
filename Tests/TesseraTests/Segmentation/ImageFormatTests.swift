import Foundation
import Testing
import Tessera
import TesseraSegmentation

/// Files written by tifffile and Pillow (`scripts/make_fixtures.py image_formats`), read
/// through libtiff, TurboJPEG and giflib.
@Suite("TIFF, JPEG and GIF files written by other tools")
struct ImageFormatTests {
    static let expected: [String: [Int]] = {
        let data = try! Data(contentsOf: Fixtures.url("image_formats.json"))
        let object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var flat: [String: [Int]] = [:]
        for (key, value) in object {
            if let values = value as? [Int] { flat[key] = values }
            if let pages = value as? [[Int]] { for (page, values) in pages.enumerated() { flat["\(key)[\(page)]"] = values } }
        }
        return flat
    }()

    static func url(_ name: String) -> URL { Fixtures.url("images/\(name)") }

    static func samples(_ raster: Raster) -> [Int] { raster.samples.map(Int.init) }

    @Test("TIFF pages in every bit depth, compression and layout read as the writer stored them",
          arguments: [
              ("gray8_none.tif", "gray8", 8, 1), ("gray8_packbits.tif", "gray8", 8, 1), ("gray16_lzw.tif", "gray16", 16, 1),
              ("rgb8_deflate.tif", "rgb8", 8, 3), ("gray16_tiled.tif", "gray16_tiled", 16, 1),
          ])
    func tiffPages(file: String, key: String, bitDepth: Int, channels: Int) throws {
        let raster = try ImageFile.read(Self.url(file))
        #expect(raster.bitDepth == bitDepth && raster.channels == channels)
        #expect(Self.samples(raster) == Self.expected[key], "\(file)")
    }

    @Test("a multi-page TIFF stack reads page by page, and a folder image refuses a stack")
    func stackPages() throws {
        let pages = try ImageFile.readPages(Self.url("stack16.tif"))
        #expect(pages.count == 3)
        for (index, page) in pages.enumerated() { #expect(Self.samples(page) == Self.expected["stack16[\(index)]"]) }
        #expect(throws: ImageFileError.self) { try ImageFile.read(Self.url("stack16.tif")) }
    }

    @Test("a palette TIFF keeps its palette indices")
    func tiffPalette() throws {
        let raster = try ImageFile.read(Self.url("palette.tif"))
        #expect(raster.indices?.map(Int.init) == Self.expected["palette_indices"])
        #expect(raster.channels == 3 && raster.samples[0..<3].allSatisfy { $0 == 0 || $0 == 255 })
    }

    @Test("JPEGs decode as Pillow decodes them", arguments: [("rgb.jpg", "rgb_jpg_pillow", 3), ("gray.jpg", "gray_jpg_pillow", 1)])
    func jpeg(file: String, key: String, channels: Int) throws {
        let raster = try ImageFile.read(Self.url(file))
        #expect(raster.channels == channels && raster.bitDepth == 8)
        let reference = try #require(Self.expected[key])
        // Both use libjpeg-turbo; allow a unit for a different IDCT choice.
        let worst = zip(Self.samples(raster), reference).map { abs($0 - $1) }.max() ?? .max
        #expect(raster.samples.count == reference.count && worst <= 1, "largest difference \(worst)")
    }

    @Test("GIF masks keep their palette indices, interlaced ones in row order",
          arguments: [("mask.gif", "gif_mask"), ("interlaced.gif", "gif_interlaced")])
    func gif(file: String, key: String) throws {
        let raster = try ImageFile.read(Self.url(file))
        #expect(raster.indices?.map(Int.init) == Self.expected[key])
    }

    @Test("a file's signature decides its format, not its extension")
    func signatureOverExtension() throws {
        let folder = try Fixtures.temporaryFolder()
        let disguised = folder.appendingPathComponent("really_a_tiff.png")
        try FileManager.default.copyItem(at: Self.url("gray8_none.tif"), to: disguised)
        #expect(Self.samples(try ImageFile.read(disguised)) == Self.expected["gray8"])
    }

    @Test("damaged, hostile and unsupported files fail with one line naming the file",
          arguments: [
              ("truncated.tif", "truncated.tif"), ("truncated.jpg", "truncated.jpg"), ("truncated.gif", "truncated.gif"),
              ("huge_screen.gif", "exceed the limit"), ("bomb.tif", "far more than its"),
          ])
    func damagedFiles(file: String, expectedText: String) {
        do {
            _ = try ImageFile.readPages(Self.url(file))
            Issue.record("\(file) was accepted")
        } catch let error as ImageFileError {
            #expect(error.description.contains(expectedText), "\(error)")
            #expect(error.path.hasSuffix(file) && !error.description.contains("\n"))
        } catch {
            Issue.record("\(file): unexpected \(error)")
        }
    }

    @Test("a device or a folder in place of an image is named as such")
    func notARegularFile() throws {
        for path in ["/dev/zero", try Fixtures.temporaryFolder().path] {
            #expect {
                try ImageFile.read(URL(fileURLWithPath: path))
            } throws: { error in
                "\(error)" == "\(path): is not a regular file (a folder, device or pipe)"
            }
        }
    }

    @Test("a TIFF stack written by Tessera reads back with its pages, size and values")
    func writeStack() throws {
        let folder = try Fixtures.temporaryFolder()
        let pages: [[UInt16]] = [[0, 255, 128, 7, 0, 1], [300, 0, 65535, 2, 9, 1000]]
        let eight = folder.appendingPathComponent("eight.tif"), sixteen = folder.appendingPathComponent("sixteen.tif")
        try TIFFFile.write(pages: [pages[0], pages[0].reversed()], width: 3, height: 2, bitDepth: 8, to: eight)
        try TIFFFile.write(pages: pages, width: 3, height: 2, bitDepth: 16, to: sixteen)
        let readEight = try TIFFFile.readPages(eight), readSixteen = try TIFFFile.readPages(sixteen)
        #expect(readEight.map(\.samples) == [pages[0], pages[0].reversed()] && readEight.allSatisfy { $0.bitDepth == 8 })
        #expect(readSixteen.map(\.samples) == pages && readSixteen.allSatisfy { $0.width == 3 && $0.height == 2 && $0.bitDepth == 16 })
    }
}

@Suite("datasets in the layouts users have")
struct DataLayoutTests {
    @Test("a Carvana-like folder (x.jpg with x_mask.gif) loads with a mask suffix, and not without")
    func carvanaLayout() throws {
        let folder = Fixtures.url("images/carvana")
        let dataset = try FolderDataset.load(folder, classes: 1, maskSuffix: "_mask")
        #expect(dataset.samples.map(\.name) == ["car0.jpg", "car1.jpg", "car2.jpg"])
        #expect(dataset.channels == 3 && dataset.samples.allSatisfy { $0.labels.contains(1) && $0.labels.contains(0) })
        #expect(throws: DatasetError.self) { try FolderDataset.load(folder, classes: 1) }
    }

    @Test("a pair of stacks gives one sample per page, masks mapped to classes")
    func stackPair() throws {
        let dataset = try StackDataset.load(
            images: ImageFormatTests.url("stack16.tif"), masks: ImageFormatTests.url("labels_stack.tif"), classes: 3)
        #expect(dataset.samples.map(\.name) == ["stack16-0000", "stack16-0001", "stack16-0002"])
        #expect(dataset.mapping.values == [0, 100, 200])
        let expected = try #require(ImageFormatTests.expected["labels_stack[1]"])
        #expect(dataset.samples[1].labels.map { Int($0) * 100 } == expected)
        // 16-bit images are scaled by 65 535.
        let first = try #require(ImageFormatTests.expected["stack16[0]"]?.first)
        #expect(abs(dataset.samples[0].image.scalars[0] - Float(first) / 65535) < 1e-6)
    }

    @Test("stacks whose page counts or page sizes differ are refused, naming the file and page")
    func mismatchedStacks() {
        func reason(_ images: String, _ masks: String) -> String {
            do {
                _ = try StackDataset.load(images: ImageFormatTests.url(images), masks: ImageFormatTests.url(masks), classes: 1)
                return "accepted"
            } catch { return "\(error)" }
        }
        #expect(reason("stack16.tif", "stack_short.tif").contains("has 2 page(s) but the image stack"))
        #expect(reason("stack_odd_page.tif", "labels_stack.tif").contains("labels_stack.tif page 2: mask is 10×12 but its image is 10×13"))
    }
}

@Suite("PyTorch state_dicts as checkpoints")
struct StateDictTests {
    @Test("a Pytorch-UNet state_dict without metadata predicts as PyTorch does",
          arguments: ["pytorch_unet_state_dict", "pytorch_unet_bilinear_state_dict"])
    func matchesPyTorch(name: String) throws {
        let checkpoint = try Checkpoint.read(from: Fixtures.url("\(name).safetensors"))
        let io = try Fixtures.load("\(name)_io.safetensors")
        checkpoint.model.eval()
        let output = checkpoint.model(try io.tensor("input"))
        let expected = try io.tensor("output")
        #expect(output.shape == expected.shape)
        #expect(output.maximumAbsoluteDifference(to: expected) <= 1e-4)
    }

    @Test("the configuration is inferred from the tensors")
    func inferredConfiguration() throws {
        let plain = try Checkpoint.read(from: Fixtures.url("pytorch_unet_state_dict.safetensors"))
        #expect(plain.model.configuration == UNetConfiguration(inputChannels: 1, classes: 1, width: 4, depth: 3, bilinear: false))
        #expect(plain.mapping == .binary)
        let bilinear = try Checkpoint.read(from: Fixtures.url("pytorch_unet_bilinear_state_dict.safetensors"), classValues: [0, 7, 9])
        #expect(bilinear.model.configuration == UNetConfiguration(inputChannels: 3, classes: 3, width: 4, depth: 2, bilinear: true))
        #expect(bilinear.mapping.values == [0, 7, 9])
    }

    @Test("a state_dict that is not a U-Net's names the first tensor that does not fit")
    func notAUNet() throws {
        let folder = try Fixtures.temporaryFolder()
        let file = folder.appendingPathComponent("classifier.safetensors")
        try SafeTensors(tensors: ["fc.weight": .zeros([10, 4]), "fc.bias": .zeros([10])]).write(to: file)
        #expect {
            try Checkpoint.read(from: file)
        } throws: { error in
            "\(error)".contains("no tensor inc.double_conv.0.weight") && "\(error)".contains("fc.bias")
        }
    }
}

@Suite("training on stacks")
struct StackTrainingTests {
    /// Writes the synthetic shapes as a PNG folder and as a pair of TIFF stacks (pages in
    /// the folder's sorted order).
    static func writeBoth(count: Int, seed: UInt64, into root: URL) throws -> (folder: URL, images: URL, masks: URL) {
        let dataset = SyntheticShapes.generate(count: count, size: 32, seed: seed)
        let folder = root.appendingPathComponent("folder")
        for sub in ["images", "masks"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        var imagePages: [[UInt16]] = [], maskPages: [[UInt16]] = []
        for (index, sample) in dataset.samples.enumerated() {
            let pixels = sample.image.scalars.map { UInt8(($0 * 255).rounded()) }, mask = sample.labels.map { UInt8($0 * 255) }
            let name = String(format: "%02d.png", index)
            try PNGFile.write(pixels, width: 32, height: 32, channels: 1, to: folder.appendingPathComponent("images/\(name)"))
            try PNGFile.write(mask, width: 32, height: 32, channels: 1, to: folder.appendingPathComponent("masks/\(name)"))
            imagePages.append(pixels.map(UInt16.init))
            maskPages.append(mask.map(UInt16.init))
        }
        let images = root.appendingPathComponent("volume.tif"), masks = root.appendingPathComponent("labels.tif")
        try TIFFFile.write(pages: imagePages, width: 32, height: 32, bitDepth: 8, to: images)
        try TIFFFile.write(pages: maskPages, width: 32, height: 32, bitDepth: 8, to: masks)
        return (folder, images, masks)
    }

    @Test("a pair of stacks trains to the same metrics as the same images in folders, and predict writes a stack")
    func stacksEqualFolders() throws {
        let root = try Fixtures.temporaryFolder()
        let train = try Self.writeBoth(count: 6, seed: 3, into: root.appendingPathComponent("train"))
        let val = try Self.writeBoth(count: 2, seed: 4, into: root.appendingPathComponent("val"))
        func run(_ adjust: (inout TrainingConfiguration) -> Void, _ name: String) throws -> [EpochRecord] {
            var configuration = TrainerTests.smallConfiguration(root.appendingPathComponent(name))
            configuration.epochs = 2
            adjust(&configuration)
            return try Trainer(configuration: configuration).run().records.map { var record = $0; record.seconds = 0; return record }
        }
        let fromFolders = try run({ $0.dataPath = train.folder.path; $0.validationPath = val.folder.path }, "folders")
        let fromStacks = try run({
            $0.imageStackPath = train.images.path; $0.maskStackPath = train.masks.path
            $0.validationImageStackPath = val.images.path; $0.validationMaskStackPath = val.masks.path
        }, "stacks")
        #expect(fromStacks == fromFolders)

        let out = root.appendingPathComponent("predicted")
        let result = try TesseraProcess.run([
            "predict", "--model", root.appendingPathComponent("stacks/best.safetensors").path, "--input", val.images.path, "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.output)")
        let pages = try TIFFFile.readPages(out.appendingPathComponent("volume.tif"))
        #expect(pages.count == 2 && pages.allSatisfy { $0.width == 32 && $0.height == 32 && $0.bitDepth == 8 })
        #expect(pages.allSatisfy { $0.samples.allSatisfy { $0 == 0 || $0 == 255 } })
    }
}
