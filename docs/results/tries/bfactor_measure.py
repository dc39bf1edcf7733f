"""Can a map's B factor be measured well enough to undo a filter (issue 26)? The slope of
log power over 20-8 Å as a B factor, from the transform of the map's periodic component
(Moisan's periodic-plus-smooth decomposition, so the box faces add no power of their own), on
the map's own grid and after resampling to 2 Å, for the map as given and seven zoo variants.
A Gaussian filter of sd 1.5 Å adds B = 178 Å²; sharpening adds -100.

    .venv/bin/python docs/results/tries/bfactor_measure.py ../shared/data/real
    (output: bfactor_measure.txt beside it; docs/zoo.md)
"""
import sys, numpy as np
from pathlib import Path
from chimerax.deepssetracer.train.evaluate import cases_from_pairs
from chimerax.deepssetracer.train import invariance as inv
from chimerax.deepssetracer.core.resample import resample
from chimerax.deepssetracer.core.lowpass import frequency_grid

def periodic(u):
    u = u.astype(np.float64)
    v = np.zeros_like(u)
    for ax in range(3):
        first = np.take(u, [0], axis=ax); last = np.take(u, [-1], axis=ax)
        d = last - first
        idx0 = [slice(None)]*3; idx0[ax] = slice(0,1)
        idx1 = [slice(None)]*3; idx1[ax] = slice(-1,None)
        v[tuple(idx0)] += d; v[tuple(idx1)] -= d
    V = np.fft.rfftn(v)
    denom = np.zeros(V.shape)
    for ax, n in enumerate(u.shape):
        q = np.fft.rfftfreq(n) if ax == 2 else np.fft.fftfreq(n)
        c = 2*np.cos(2*np.pi*q)
        sh = [1,1,1]; sh[ax] = len(q)
        denom = denom + c.reshape(sh)
    denom -= 6
    denom[0,0,0] = 1
    S = V/denom; S[0,0,0]=0
    U = np.fft.rfftn(u)
    return U - S  # transform of periodic component

BAND=(20.0,8.0)
def bfit(data, vox, ps=True):
    P = np.abs(periodic(data) if ps else np.fft.rfftn(data - data.mean()))**2
    s = frequency_grid(data.shape, vox)
    edges = np.linspace(1/BAND[0], 1/BAND[1], 9)
    s2, lp = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sh=(s>=lo)&(s<hi)
        if sh.any(): s2.append(((lo+hi)/2)**2); lp.append(np.log(P[sh].mean()))
    return -2*np.polyfit(s2, lp, 1)[0]

if __name__ == "__main__":
  print("# B (Å², 20-8 Å) on the map's own grid | on 2 Å: as given, Gaussian sd 1.5 (expect +178), "
        "sharpened (expect -100), central 0.6, central 0.45, noisy central 0.6, noise-padded 40 Å, "
        "zero-padded 40 Å, resampled 1.5 Å")
  for case in cases_from_pairs(Path(sys.argv[1])):
      out=[f"{case.name:22s}"]
      for v in [None, inv.gaussian(case), inv.sharpened(case), inv.central_crop(case, 0.6), inv.central_crop(case,0.45), inv.central_crop(case, 0.6, noise=True), inv.padded(case, 40.0, noise=True), inv.padded(case, 40.0), inv.resampled(case, 1.5)]:
          d = case.dmap if v is None else v.dmap
          g = resample(d.data, d.voxel_size, (2.0,)*3)
          out.append(f"{bfit(d.data, d.voxel_size):5.0f}|{bfit(g,(2.0,)*3):5.0f}")
      print(" ".join(out), flush=True)
