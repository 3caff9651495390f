# FPN and SSH at 128 channels over 128/256/512-channel inputs with ReLU (the
# reference's LeakyReLU slope is 0 when out_channels > 64): what the model
# bases of yakhyo's MobileNetV1-0.5 and ResNet-18 put on their base's neck.
relu = dict(type='LeakyReLU', negative_slope=0.0)
neck_128 = [
    dict(in_channels=[128, 256, 512], out_channels=128, act_cfg=relu),
    dict(in_channels=128, out_channels=128, act_cfg=relu),
]
