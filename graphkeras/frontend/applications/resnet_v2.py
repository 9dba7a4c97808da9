"""ResNet50V2 / 101V2 / 152V2, as keras.applications.resnet_v2.
Reference: He et al., Identity Mappings in Deep Residual Networks (2016).
"""

from __future__ import annotations

from . import _common, imagenet_utils, resnet
from .resnet import stack_residual_blocks_v2


def _v2_stacks(counts):
    def stack_fn(x):
        x = stack_residual_blocks_v2(x, 64, counts[0], name="conv2")
        x = stack_residual_blocks_v2(x, 128, counts[1], name="conv3")
        x = stack_residual_blocks_v2(x, 256, counts[2], name="conv4")
        return stack_residual_blocks_v2(x, 512, counts[3], stride1=1,
                                        name="conv5")

    return stack_fn


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None,
               input_shape=None, pooling=None, classes=1000,
               classifier_activation="softmax", name="resnet50v2"):
    return resnet.ResNet(_v2_stacks((3, 4, 6, 3)), True, True, name,
                         include_top, weights, input_tensor, input_shape,
                         pooling, classes, classifier_activation,
                         weights_name="resnet50v2")


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None,
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="resnet101v2"):
    return resnet.ResNet(_v2_stacks((3, 4, 23, 3)), True, True, name,
                         include_top, weights, input_tensor, input_shape,
                         pooling, classes, classifier_activation,
                         weights_name="resnet101v2")


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None,
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="resnet152v2"):
    return resnet.ResNet(_v2_stacks((3, 8, 36, 3)), True, True, name,
                         include_top, weights, input_tensor, input_shape,
                         pooling, classes, classifier_activation,
                         weights_name="resnet152v2")


for _fn in (ResNet50V2, ResNet101V2, ResNet152V2):
    _common.document(_fn, f"Instantiates the {_fn.__name__} architecture "
                          "(He et al., 2016).", args=resnet.ARGS,
                     example=resnet.EXAMPLE)


preprocess_input = imagenet_utils.preprocess_input_tf
decode_predictions = resnet.decode_predictions
