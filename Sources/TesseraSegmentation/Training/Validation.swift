import Tessera

/// Scores a model on a labelled dataset, one whole image at a time, in evaluation mode.
public enum Validation {
    /// The metrics over all images and the mean loss per image (nil without a loss).
    public static func evaluate(
        _ model: UNet, on dataset: SegmentationDataset, loss: SegmentationLoss?, threshold: Float = 0.5
    ) -> (metrics: SegmentationMetrics, loss: Double?) {
        let (metrics, totalLoss) = evaluate(model, on: dataset, images: Array(dataset.samples.indices), loss: loss, threshold: threshold)
        return (metrics, loss.map { _ in totalLoss / Double(max(dataset.samples.count, 1)) })
    }

    /// The metrics over the images at `images` and the sum of their losses (0 without a
    /// loss): one process's share of a validation split over several.
    ///
    /// - Parameter predictor: how to run the model over an image (tiles, blending,
    ///   test-time augmentation); nil runs each whole image at once.
    public static func evaluate(
        _ model: UNet, on dataset: SegmentationDataset, images: [Int], loss: SegmentationLoss?, threshold: Float = 0.5,
        predictor: Predictor? = nil
    ) -> (metrics: SegmentationMetrics, totalLoss: Double) {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var metrics = SegmentationMetrics(labelCount: dataset.mapping.labelCount)
        var totalLoss = 0.0
        for index in images {
            let sample = dataset.samples[index]
            let batch = Batch([(sample.image, sample.labels)])
            let logits = predictor.map { predictor in
                let imageLogits = predictor.logits(for: sample.image)
                return imageLogits.reshaped([1] + imageLogits.shape)
            } ?? model.logits(batch.images)
            metrics.add(predicted: SegmentationOutput.labels(logits: logits, threshold: threshold), truth: sample.labels)
            if let loss { totalLoss += Double(loss(logits, batch).scalar) }
        }
        return (metrics, totalLoss)
    }
}
