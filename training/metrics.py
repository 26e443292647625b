"""Sample-quality figures in a feature space (numpy only): Fréchet distance, KID, precision/recall, coverage.

Features are the penultimate activations of a domain classifier (training/evaluate.py), the way TF-GAN measures
MNIST: Inception weights cannot be downloaded here, and a classifier of the same data is the better judge of it.
"""

from __future__ import annotations

import numpy as np


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) between Gaussians fitted to feature sets a and b."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((S_a S_b)^1/2) = sum sqrt(eig(S_a^1/2 S_b S_a^1/2)): a symmetric PSD problem, stable with eigh.
    w, v = np.linalg.eigh(s_a)
    half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(half @ s_b @ half), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * cross)


def kernel_inception_distance(
    a: np.ndarray, b: np.ndarray, subsets: int = 10, subset_size: int = 1000, seed: int = 0
) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel (x.y/d + 1)^3, averaged over random subsets (Binkowski 2018)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(a), len(b))
    d = a.shape[1]
    total = 0.0
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
        total += (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    return float(total / subsets)


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(d2, 0, None))


def _radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded)."""
    d = _pairwise(x, x)
    return np.partition(d, k, axis=1)[:, k]  # column 0 is the point itself (distance 0)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019): the fraction of fake samples inside the real
    k-NN manifold, and of real samples inside the fake one."""
    real_r, fake_r = _radii(real, k), _radii(fake, k)
    d = _pairwise(fake, real)  # [fake, real]
    precision = float((d <= real_r[None, :]).any(axis=1).mean())
    recall = float((d.T <= fake_r[None, :]).any(axis=1).mean())
    return precision, recall


def at_size(figure, real: np.ndarray, fake: np.ndarray, size: int):
    """Mean of figure(real, chunk) over the disjoint `size`-sample chunks of `fake`.

    FCD's bias falls as 1/n and k-NN balls shrink as n grows, so a model measured on 5,000 samples cannot be set
    beside a floor measured on 500 held-out images; measuring the model at the floor's size, averaged over chunks,
    keeps both comparable and still uses every sample.
    """
    if not 1 <= size <= len(fake):
        raise ValueError(f"size must be in 1..{len(fake)}, got {size}")
    values = [figure(real, fake[i : i + size]) for i in range(0, len(fake) - size + 1, size)]
    return np.mean(values, axis=0)


def class_coverage(predicted: np.ndarray, reference_labels: np.ndarray, num_classes: int) -> float:
    """1 - total variation distance between the predicted-class histogram and the data's (1: same spread)."""
    p = np.bincount(predicted, minlength=num_classes) / max(len(predicted), 1)
    q = np.bincount(reference_labels, minlength=num_classes) / max(len(reference_labels), 1)
    return float(1 - 0.5 * np.abs(p - q).sum())


def gradient_magnitude(images: np.ndarray) -> float:
    """Mean |image gradient| (forward differences along both axes): blur lowers it, so the ratio of a model's
    to real data's is the sharpness figure (about 1 for sharp samples, well under 1 for blurry ones)."""
    x = np.asarray(images, np.float64)
    dy = np.abs(np.diff(x, axis=1))[:, :, :-1]
    dx = np.abs(np.diff(x, axis=2))[:, :-1, :]
    return float(np.sqrt(dx**2 + dy**2).mean())
