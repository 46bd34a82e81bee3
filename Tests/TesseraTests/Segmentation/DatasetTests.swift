import Foundation
import Testing
import Tessera
import TesseraSegmentation

@Suite("dataset folders")
struct DatasetTests {
    /// Writes a dataset folder: each entry is (name, image side, mask values per pixel).
    static func makeFolder(_ entries: [(String, Int, [UInt8])], imageChannels: [Int]? = nil) throws -> URL {
        let root = try Fixtures.temporaryFolder()
        for folder in ["images", "masks"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        for (index, (name, side, mask)) in entries.enumerated() {
            let channels = imageChannels?[index] ?? 1
            let image = (0..<(side * side * channels)).map { UInt8($0 % 256) }
            try PNGFile.write(image, width: side, height: side, channels: channels, to: root.appendingPathComponent("images/\(name)"))
            let maskSide = Int(Double(mask.count).squareRoot())
            try PNGFile.write(mask, width: maskSide, height: maskSide, channels: 1, to: root.appendingPathComponent("masks/\(name)"))
        }
        return root
    }

    static func expectDatasetError(_ folder: URL, classes: Int = 1, mentioning fragments: [String]) {
        #expect {
            try FolderDataset.load(folder, classes: classes)
        } throws: { error in
            guard let error = error as? DatasetError else { return false }
            return fragments.allSatisfy { error.description.contains($0) }
        }
    }

    @Test("binary masks: 0 is background, anything else foreground; images scale to [0, 1]")
    func binary() throws {
        let folder = try Self.makeFolder([("a.png", 2, [0, 255, 7, 0]), ("b.png", 2, [1, 1, 0, 0])])
        let dataset = try FolderDataset.load(folder, classes: 1)
        #expect(dataset.samples.map(\.name) == ["a.png", "b.png"])
        #expect(dataset.samples[0].labels == [0, 1, 1, 0])
        #expect(dataset.samples[0].image.shape == [1, 2, 2])
        #expect(dataset.samples[0].image[0, 0, 1] == Float(1) / 255)
    }

    @Test("multi-class masks map their distinct values, sorted, to classes")
    func multiClass() throws {
        let folder = try Self.makeFolder([("a.png", 2, [0, 128, 255, 0]), ("b.png", 2, [128, 128, 0, 0])])
        let dataset = try FolderDataset.load(folder, classes: 3)
        #expect(dataset.mapping.values == [0, 128, 255])
        #expect(dataset.samples[0].labels == [0, 1, 2, 0])
    }

    @Test("more mask values than classes is an error naming the values")
    func tooManyValues() throws {
        let folder = try Self.makeFolder([("a.png", 2, [0, 50, 100, 150])])
        Self.expectDatasetError(folder, classes: 3, mentioning: ["4 distinct values", "[0, 50, 100, 150]", "--classes is 3"])
    }

    @Test("a missing mask, an extra mask and a size mismatch name the file")
    func missingExtraAndMismatch() throws {
        let missing = try Self.makeFolder([("a.png", 2, [0, 0, 0, 0]), ("b.png", 2, [0, 0, 0, 0])])
        try FileManager.default.removeItem(at: missing.appendingPathComponent("masks/b.png"))
        Self.expectDatasetError(missing, mentioning: ["masks/b.png", "mask missing"])

        let extra = try Self.makeFolder([("a.png", 2, [0, 0, 0, 0])])
        try PNGFile.write([0, 0, 0, 0], width: 2, height: 2, channels: 1, to: extra.appendingPathComponent("masks/z.png"))
        Self.expectDatasetError(extra, mentioning: ["masks/z.png", "no image"])

        let mismatch = try Self.makeFolder([("a.png", 3, [0, 0, 0, 0])])
        Self.expectDatasetError(mismatch, mentioning: ["masks/a.png", "2×2", "3×3"])
    }

    @Test("mixed channel counts, an empty folder and a missing masks/ folder are errors")
    func structuralErrors() throws {
        let mixed = try Self.makeFolder([("a.png", 2, [0, 0, 0, 0]), ("b.png", 2, [0, 0, 0, 0])], imageChannels: [1, 3])
        Self.expectDatasetError(mixed, mentioning: ["images/b.png", "3 channel(s)"])

        let empty = try Self.makeFolder([])
        Self.expectDatasetError(empty, mentioning: ["no image files"])

        let noMasks = try Self.makeFolder([("a.png", 2, [0, 0, 0, 0])])
        try FileManager.default.removeItem(at: noMasks.appendingPathComponent("masks"))
        Self.expectDatasetError(noMasks, mentioning: ["no masks/"])

        Self.expectDatasetError(URL(fileURLWithPath: "/nonexistent/data"), mentioning: ["/nonexistent/data", "not found"])
    }

    @Test("a corrupt image is reported with its path")
    func corruptImage() throws {
        let folder = try Self.makeFolder([("a.png", 2, [0, 0, 0, 0])])
        try Data("garbage".utf8).write(to: folder.appendingPathComponent("images/a.png"))
        #expect(throws: ImageFileError.self) { try FolderDataset.load(folder, classes: 1) }
    }

    @Test("the validation split is seeded, disjoint and covers everything")
    func split() {
        let dataset = SyntheticShapes.generate(count: 20, size: 16, seed: 1)
        let (train, validation) = dataset.split(validationFraction: 0.2, seed: 3)
        #expect(train.samples.count == 16 && validation.samples.count == 4)
        #expect(Set(train.samples.map(\.name)).isDisjoint(with: validation.samples.map(\.name)))
        #expect(dataset.split(validationFraction: 0.2, seed: 3).1.samples.map(\.name) == validation.samples.map(\.name))
    }

    @Test("outlined shapes keep the filled shapes' masks but leave their insides looking like background")
    func outlinedShapes() {
        let filled = SyntheticShapes.generate(count: 3, size: 64, style: .filled, seed: 4)
        let outlined = SyntheticShapes.generate(count: 3, size: 64, style: .outlined, seed: 4)
        for (a, b) in zip(filled.samples, outlined.samples) {
            #expect(a.labels == b.labels)
            let inside = a.labels.indices.filter { a.labels[$0] != 0 }
            let changed = inside.filter { abs(a.image.scalars[$0] - b.image.scalars[$0]) > 0.1 }
            // Most of each shape is inside its 2-pixel outline, where the fill is gone.
            #expect(Double(changed.count) > 0.5 * Double(inside.count), "\(a.name): \(changed.count) of \(inside.count)")
        }
    }
}
