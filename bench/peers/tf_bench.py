"""TensorFlow/Keras peer of eyegan-bench: the same DCGAN and GMD networks (channels-last, as
TensorFlow runs convolutions on the CPU), the same figures and output format. Training and
inference steps are `tf.function`s, as Keras' fit/predict run them. Threads: BENCH_THREADS."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402
from tensorflow.keras import layers  # noqa: E402

import common  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
tf.config.threading.set_intra_op_parallelism_threads(THREADS)
tf.config.threading.set_inter_op_parallelism_threads(1)
tf.random.set_seed(0)

NZ, NGF, NDF, NC = 100, 64, 64, 3
CONV_INIT = keras.initializers.RandomNormal(0.0, 0.02)
BN_INIT = keras.initializers.RandomNormal(1.0, 0.02)


def bn():
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer=BN_INIT)


def generator():
    def up(filters, strides, padding):
        return layers.Conv2DTranspose(filters, 4, strides, padding, use_bias=False,
                                      kernel_initializer=CONV_INIT)

    return keras.Sequential([
        keras.Input((1, 1, NZ)),
        up(NGF * 8, 1, "valid"), bn(), layers.ReLU(),
        up(NGF * 4, 2, "same"), bn(), layers.ReLU(),
        up(NGF * 2, 2, "same"), bn(), layers.ReLU(),
        up(NGF, 2, "same"), bn(), layers.ReLU(),
        up(NC, 2, "same"), layers.Activation("tanh"),
    ])


def discriminator():
    def down(filters, strides=2, padding="same"):
        return layers.Conv2D(filters, 4, strides, padding, use_bias=False, kernel_initializer=CONV_INIT)

    return keras.Sequential([
        keras.Input((64, 64, NC)),
        down(NDF), layers.LeakyReLU(0.2),
        down(NDF * 2), bn(), layers.LeakyReLU(0.2),
        down(NDF * 4), bn(), layers.LeakyReLU(0.2),
        down(NDF * 8), bn(), layers.LeakyReLU(0.2),
        down(1, 1, "valid"), layers.Flatten(),
    ])


def gmd():
    """The paper's GMD with `same` padding (EyeGAN's default): 64×64×3 → 4 logits."""
    def conv(filters):
        return layers.Conv2D(filters, 3, padding="same", activation="relu")

    return keras.Sequential([
        keras.Input((64, 64, 3)),
        conv(256), conv(128), layers.MaxPooling2D(2),
        conv(128), layers.MaxPooling2D(2),
        conv(64), layers.MaxPooling2D(2),
        conv(32), layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(100, activation="relu"), layers.Dense(60, activation="relu"), layers.Dense(4),
    ])


def dcgan_iteration(batch):
    g, d = generator(), discriminator()
    opt_g = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-8)
    opt_d = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-8)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    real = tf.tanh(tf.random.normal((batch, 64, 64, NC)))
    ones, zeros = tf.ones((batch, 1)), tf.zeros((batch, 1))

    @tf.function
    def step():
        noise = tf.random.normal((batch, 1, 1, NZ))
        # One G forward feeds both updates (as in PyTorch's reference): the outer tape records it.
        with tf.GradientTape() as tape_g:
            fake = g(noise, training=True)
            with tf.GradientTape() as tape_d:
                real_logits = d(real, training=True)
                fake_logits = d(tf.stop_gradient(fake), training=True)
                loss_d = bce(ones, real_logits) + bce(zeros, fake_logits)
            d_grads = tape_d.gradient(loss_d, d.trainable_variables)
            opt_d.apply_gradients(zip(d_grads, d.trainable_variables))
            logits = d(fake, training=True)
            loss_g = bce(ones, logits)
        opt_g.apply_gradients(zip(tape_g.gradient(loss_g, g.trainable_variables), g.trainable_variables))
        return loss_d, loss_g, tf.reduce_mean(tf.sigmoid(real_logits)), tf.reduce_mean(tf.sigmoid(logits))

    def run():
        [t.numpy() for t in step()]

    return batch, run


def generator_forward(batch):
    g = generator()

    @tf.function
    def forward():
        return g(tf.random.normal((batch, 1, 1, NZ)), training=False)

    def run():
        forward().numpy()

    return batch, run


def gmd_step(batch):
    model = gmd()
    opt = keras.optimizers.SGD(0.001)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    images = tf.tanh(tf.random.normal((batch, 64, 64, 3)))
    labels = tf.range(batch) % 4

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = ce(labels, model(images, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    def run():
        step().numpy()

    return batch, run


def gmd_inference(count, chunk=64):
    model = gmd()
    images = tf.tanh(tf.random.normal((count, 64, 64, 3)))

    @tf.function
    def forward(x):
        return tf.nn.softmax(model(x, training=False))

    def run():
        for start in range(0, count, chunk):
            forward(images[start:start + chunk]).numpy()

    return count, run


def prepare(name):
    return {
        "dcgan_iter_b64": lambda: dcgan_iteration(64),
        "dcgan_iter_b16": lambda: dcgan_iteration(16),
        "gen_b64": lambda: generator_forward(64),
        "gmd_step_b32": lambda: gmd_step(32),
        "gmd_infer_256": lambda: gmd_inference(256),
    }[name]()


if __name__ == "__main__":
    common.main(prepare, "TensorFlow")
