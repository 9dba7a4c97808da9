"""The Keras applications: ImageNet architectures by Keras's names.

Each family lives in its own module; `graphkeras.applications` (the public
namespace, graphkeras/applications.py) publishes them under Keras's module
paths (`graphkeras.applications.resnet50.preprocess_input`, ...).
"""

# public module name -> (our module, the names Keras exports there)
MODULES = {
    "imagenet_utils": ("imagenet_utils",
                       ("preprocess_input", "decode_predictions")),
    "resnet": ("resnet", ("ResNet50", "ResNet101", "ResNet152",
                          "preprocess_input", "decode_predictions")),
    "resnet50": ("resnet", ("ResNet50", "preprocess_input",
                            "decode_predictions")),
    "resnet_v2": ("resnet_v2", ("ResNet50V2", "ResNet101V2", "ResNet152V2",
                                "preprocess_input", "decode_predictions")),
    "vgg16": ("vgg", ("VGG16", "preprocess_input", "decode_predictions")),
    "vgg19": ("vgg", ("VGG19", "preprocess_input", "decode_predictions")),
    "mobilenet": ("mobilenet", ("MobileNet", "preprocess_input",
                                "decode_predictions")),
    "mobilenet_v2": ("mobilenet_v2", ("MobileNetV2", "preprocess_input",
                                      "decode_predictions")),
    "densenet": ("densenet", ("DenseNet121", "DenseNet169", "DenseNet201",
                              "preprocess_input", "decode_predictions")),
    "efficientnet": ("efficientnet", tuple(
        f"EfficientNetB{i}" for i in range(8)) + (
        "preprocess_input", "decode_predictions")),
    "mobilenet_v3": ("mobilenet_v3", ("MobileNetV3Small", "MobileNetV3Large",
                                      "preprocess_input",
                                      "decode_predictions")),
    "xception": ("xception", ("Xception", "preprocess_input",
                              "decode_predictions")),
    "inception_v3": ("inception_v3", ("InceptionV3", "preprocess_input",
                                      "decode_predictions")),
    "efficientnet_v2": ("efficientnet_v2", tuple(
        f"EfficientNetV2{s}" for s in ("B0", "B1", "B2", "B3", "S", "M",
                                        "L")) + (
        "preprocess_input", "decode_predictions")),
    "inception_resnet_v2": ("inception_resnet_v2", (
        "InceptionResNetV2", "preprocess_input", "decode_predictions")),
    "convnext": ("convnext", (
        "ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge",
        "ConvNeXtXLarge", "LayerScale", "StochasticDepth",
        "preprocess_input", "decode_predictions")),
    "nasnet": ("nasnet", ("NASNetMobile", "NASNetLarge", "preprocess_input",
                          "decode_predictions")),
}
