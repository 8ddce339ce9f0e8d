"""Tucker-2 decomposition of convolution kernels (Kim et al., ICLR 2016).

A kernel ``W`` of shape ``(C_out, C_in, k, k)`` is decomposed along its two
channel modes only (the spatial modes are small):

    W ~= G x_0 U_out x_1 U_in,   G = W x_0 U_out^T x_1 U_in^T

with ``U_out (C_out, R_out)`` / ``U_in (C_in, R_in)`` the leading left
singular vectors of the mode-0 / mode-1 unfoldings (HOSVD; optional HOOI
sweeps refine them) and the core ``G (R_out, R_in, k, k)``. At full rank the
factors are orthogonal and the product is exact.

Ranks come from the user, from an energy threshold on the singular values of
each unfolding, or from the analytic empirical variational Bayesian matrix
factorisation (EVBMF, Nakajima et al., JMLR 2013) as Kim et al. do.
"""
from typing import Tuple

import numpy as np
import torch


def unfold(weight: torch.Tensor, mode: int) -> torch.Tensor:
    """Mode-``mode`` unfolding: ``(C_mode, prod(other dims))``."""
    return weight.movedim(mode, 0).reshape(weight.shape[mode], -1)


def _leading_vectors(matrix: torch.Tensor, rank: int) -> torch.Tensor:
    u, _, _ = torch.linalg.svd(matrix, full_matrices=False)
    return u[:, :rank]


def tucker2_decompose(weight: torch.Tensor,
                      ranks: Tuple[int, int],
                      n_iter: int = 0) -> Tuple[torch.Tensor, ...]:
    """Tucker-2 factors of a conv kernel, ready to load as three convs.

    Args:
        weight (Tensor): Kernel ``(C_out, C_in, k, k)``.
        ranks (tuple[int, int]): ``(R_in, R_out)``.
        n_iter (int): HOOI sweeps after the HOSVD initialisation (each one
            can only lower the reconstruction error). Defaults to 0.

    Returns:
        tuple[Tensor]: ``in_proj (R_in, C_in, 1, 1)``, ``core (R_out, R_in,
        k, k)`` and ``out_proj (C_out, R_out, 1, 1)``, in ``weight``'s dtype.
    """
    r_in, r_out = ranks
    c_out, c_in = weight.shape[:2]
    if not (1 <= r_in <= c_in and 1 <= r_out <= c_out):
        raise ValueError(f'ranks (R_in={r_in}, R_out={r_out}) must be within '
                         f'[1, {c_in}] x [1, {c_out}] for a kernel of shape '
                         f'{tuple(weight.shape)}.')
    w = weight.detach().double()
    u_out = _leading_vectors(unfold(w, 0), r_out)
    u_in = _leading_vectors(unfold(w, 1), r_in)
    for _ in range(n_iter):
        # HOOI: best U_out given U_in, then best U_in given U_out.
        u_out = _leading_vectors(
            unfold(torch.einsum('oikl,ir->orkl', w, u_in), 0), r_out)
        u_in = _leading_vectors(
            unfold(torch.einsum('oikl,or->rikl', w, u_out), 1), r_in)
    core = torch.einsum('oikl,or,is->rskl', w, u_out, u_in)
    dtype = weight.dtype
    return (u_in.t()[:, :, None,
                     None].to(dtype), core.to(dtype), u_out[:, :, None,
                                                            None].to(dtype))


def tucker2_reconstruct(in_proj: torch.Tensor, core: torch.Tensor,
                        out_proj: torch.Tensor) -> torch.Tensor:
    """The kernel ``(C_out, C_in, k, k)`` the three factors compute."""
    return torch.einsum('rskl,or,si->oikl', core, out_proj[:, :, 0, 0],
                        in_proj[:, :, 0, 0])


def energy_rank(matrix: torch.Tensor, energy: float) -> int:
    """Smallest rank keeping ``energy`` of the squared singular values.

    Args:
        matrix (Tensor): ``(m, n)``, e.g. an unfolding.
        energy (float): Fraction in ``(0, 1]``.

    Returns:
        int: ``r`` with ``sum(s[:r]^2) >= energy * sum(s^2)``.
    """
    if not 0 < energy <= 1:
        raise ValueError(f'energy must be in (0, 1], got {energy}.')
    s2 = torch.linalg.svdvals(matrix.detach().double())**2
    kept = torch.cumsum(s2, 0) / s2.sum().clamp_min(1e-300)
    rank = int(
        torch.searchsorted(kept, torch.tensor(
            energy - 1e-12, dtype=kept.dtype)).item()) + 1
    return min(rank, s2.numel())


def _tau(x: np.ndarray, alpha: float) -> np.ndarray:
    return 0.5 * (x - (1 + alpha) + np.sqrt((x - (1 + alpha))**2 - 4 * alpha))


def _evb_objective(sigma2: float, L: int, M: int, s: np.ndarray,
                   xubar: float) -> float:
    """Negative free energy of EVBMF as a function of the noise variance."""
    alpha = L / M
    x = s**2 / (M * sigma2)
    z1, z2 = x[x > xubar], x[x <= xubar]
    tau_z1 = _tau(z1, alpha)
    # Exactly zero singular values (rank-deficient kernels) would give
    # log(0); clamp them to the smallest positive float.
    z2 = np.maximum(z2, np.finfo(float).tiny)
    return float(
        np.sum(z2 - np.log(z2)) + np.sum(z1 - tau_z1) +
        np.sum(np.log((tau_z1 + 1) / z1)) +
        alpha * np.sum(np.log(tau_z1 / alpha + 1)))


def evbmf_rank(matrix: torch.Tensor) -> Tuple[int, float]:
    """Rank estimated by analytic EVBMF (Nakajima et al., JMLR 2013).

    The noise variance ``sigma2`` is found by a bounded 1-D search of the
    free energy (Theorem 10 / Sec. 6 of the paper); singular values above
    ``sqrt(M sigma2 (1 + tau) (1 + alpha / tau))`` survive.

    Args:
        matrix (Tensor): ``(m, n)``; transposed internally so ``L <= M``.

    Returns:
        tuple[int, float]: The estimated rank (at least 1) and ``sigma2``.
    """
    from scipy.optimize import minimize_scalar

    y = matrix.detach().double().cpu().numpy()
    if y.shape[0] > y.shape[1]:
        y = y.T
    L, M = y.shape
    alpha = L / M
    tauubar = 2.5129 * np.sqrt(alpha)
    s = np.linalg.svd(y, compute_uv=False)
    xubar = (1 + tauubar) * (1 + alpha / tauubar)
    eh_ub = int(min(np.ceil(L / (1 + alpha)) - 1, L)) - 1
    upper = np.sum(s**2) / (L * M)
    lower = max(s[eh_ub + 1]**2 / (M * xubar),
                np.mean(s[eh_ub + 1:]**2) / M, upper * 1e-12)
    if not upper > lower:
        return L, float(upper)
    sigma2 = minimize_scalar(
        _evb_objective,
        args=(L, M, s, xubar),
        bounds=[lower, upper],
        method='bounded').x
    threshold = np.sqrt(M * sigma2 * (1 + tauubar) * (1 + alpha / tauubar))
    return max(1, int(np.sum(s > threshold))), float(sigma2)


def select_ranks(weight: torch.Tensor,
                 method: str = 'energy',
                 energy: float = 0.9) -> Tuple[int, int]:
    """``(R_in, R_out)`` of a kernel ``(C_out, C_in, k, k)``.

    Args:
        weight (Tensor): The kernel.
        method (str): ``'energy'`` (keep ``energy`` of each unfolding's
            squared singular values) or ``'vbmf'`` (EVBMF on each unfolding,
            as Kim et al., 2016).
        energy (float): Threshold of ``'energy'``. Defaults to 0.9.

    Returns:
        tuple[int, int]: ``(R_in, R_out)``.
    """
    if method == 'energy':
        return (energy_rank(unfold(weight, 1),
                            energy), energy_rank(unfold(weight, 0), energy))
    if method == 'vbmf':
        return (evbmf_rank(unfold(weight,
                                  1))[0], evbmf_rank(unfold(weight, 0))[0])
    raise ValueError(f"method must be 'energy' or 'vbmf', got {method!r}.")
