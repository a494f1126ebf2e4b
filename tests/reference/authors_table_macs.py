"""MACs of the SMLDist authors' own teacher and student (examples/train_realworld.toml @ 8903617,
[[model.model.layers]] and [[student_model.model.layers]]) on their input, 63 channels × 225
samples (RealWorld HAR, 5-s frames cut to 225 samples), counted with harbench's rules
(harness/models/src/macs.rs: every multiply-accumulate of convolutions and linear layers,
squeeze-excitation on the pooled vector). docs/smldist.md quotes the ratio.

Run: python3 tests/reference/authors_table_macs.py   (standard library only)
"""

# (kernel, expansion, in, out, stride, squeeze-excitation), as the toml lists them.
TEACHER = [
    (3, 64, 64, 64, 2, True),
    (3, 288, 64, 128, 2, False),
    (3, 352, 128, 128, 1, False),
    (5, 384, 128, 256, 2, True),
    (7, 480, 256, 256, 1, True),
    (5, 480, 256, 256, 1, True),
    (3, 960, 256, 512, 2, False),
    (3, 800, 512, 512, 1, False),
    (3, 736, 512, 512, 1, False),
    (3, 736, 512, 512, 1, False),
    (3, 1920, 512, 1024, 1, True),
    (3, 2688, 1024, 1024, 1, True),
    (5, 2688, 1024, 2048, 2, True),
    (7, 3840, 2048, 2048, 1, True),
    (5, 3840, 2048, 2048, 1, True),
]
STUDENT = [
    (3, 64, 64, 64, 2, True),
    (5, 352, 64, 128, 2, False),
    (5, 384, 128, 256, 2, True),
    (9, 480, 256, 256, 1, True),
    (3, 960, 256, 512, 1, False),
    (5, 800, 512, 512, 2, False),
    (5, 1920, 512, 1024, 1, True),
    (3, 2688, 1024, 1024, 1, True),
    (5, 2688, 1024, 2048, 2, True),
    (9, 3840, 2048, 2048, 1, True),
]


def macs(table, channels=63, length=225, pooled=512, classes=8):
    # Stem: conv k3 s2 p1 to 64 channels.
    length = (length + 2 - 3) // 2 + 1
    total = channels * 64 * 3 * length
    for kernel, expansion, cin, cout, stride, se in table:
        total += cin * expansion * length  # 1×1 expansion
        length = (length + 2 * ((kernel - 1) // 2) - kernel) // stride + 1
        total += expansion * kernel * length  # depthwise
        if se:
            total += 2 * expansion * (expansion // 4)  # two linear layers on the pooled vector
        total += expansion * cout * length  # 1×1 projection
    total += table[-1][3] * pooled * length  # final 1×1 conv to the pooled width
    return total + pooled * pooled + pooled * classes  # the memory unit at evaluation


t, s = macs(TEACHER), macs(STUDENT)
print(f"teacher {t / 1e6:.1f} M MACs, student {s / 1e6:.1f} M MACs, {t / s:.2f}x fewer")
