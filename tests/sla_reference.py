"""Hand computations of the SLA terms in NumPy (loops over samples and
classes), independent of frskd_mm's implementation; shared by the SLA head
tests (pytest puts tests/ on ``sys.path``)."""
import numpy as np


def log_softmax(z):
    out = np.empty_like(z)
    for i, row in enumerate(z):
        m = row.max()
        out[i] = row - m - np.log(np.exp(row - m).sum())
    return out


def cross_entropy(z, labels):
    logp = log_softmax(z)
    return -sum(logp[i, y] for i, y in enumerate(labels)) / len(labels)


def kd(student, target, temperature):
    """``T^2 * KL(softmax(target / T) || softmax(student / T))``, summed
    over classes and averaged over samples (the authors' DistillKL)."""
    log_s = log_softmax(student / temperature)
    log_t = log_softmax(target / temperature)
    total = 0.0
    for i in range(len(student)):
        for c in range(student.shape[1]):
            total += np.exp(log_t[i, c]) * (log_t[i, c] - log_s[i, c])
    return total / len(student) * temperature**2


def attention(feat):
    a = (feat**2).mean(axis=1).reshape(len(feat), -1)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def attention_transfer(student, teacher):
    return ((attention(student) - attention(teacher))**2).mean()


def linear(x, weight, bias):
    return x @ weight.T + bias


def pool(feat):
    return feat.mean(axis=(2, 3))


def joint_labels(labels):
    """Row b * 4 + k has label labels[b] * 4 + k."""
    return [y * 4 + k for y in labels for k in range(4)]


def aggregate(joint):
    """(4N, 4C) -> (N, C): mean over k of joint[b * 4 + k, c * 4 + k]."""
    n, c = joint.shape[0] // 4, joint.shape[1] // 4
    out = np.zeros((n, c))
    for b in range(n):
        for cls in range(c):
            out[b, cls] = np.mean(
                [joint[b * 4 + k, cls * 4 + k] for k in range(4)])
    return out


def numpy_of(tensor):
    return tensor.detach().double().numpy()
