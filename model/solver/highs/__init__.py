"""HiGHS, behind one door: the only package that imports highspy.

Every other module hands this one a solver-neutral
:class:`~svcplan.formulation.standard_form.StandardForm` and gets plain numpy back:

- :func:`solve_lp` — an LP (relaxation, local LP of the marginals) with primal and duals;
  :func:`basis_codes` — its optimal basis as plain numbers, which it takes back;
- :class:`HotLp` — a sweep's LP relaxation, kept loaded while its row bounds change, solved
  in the kept instance or a new one by :func:`solve_kept` (:mod:`.lp`);
- :func:`solve_mip` — a MIP (the main branch-and-bound, a search sub-model, a completion of
  a given plan, the elastic model of an explanation), with an honest :class:`Status`;
- :class:`RepricedBlocks` — independent LPs kept in HiGHS while their objective changes
  (pricing rounds), solved side by side on threads (:mod:`.blocks`);
- :func:`write_model` — the model as HiGHS would solve it, to ``.mps`` or ``.lp``.

Here live the HiGHS options, the banner, Ctrl-C and deadline handling
(:func:`.instance.run_interruptible`) and the mapping of HiGHS's model status onto ours
(:mod:`.mip`).
"""

from .blocks import RepricedBlocks
from .lp import HotLp, LpSolution, basis_codes, solve_kept, solve_lp
from .mip import MipSolution, solve_mip, write_model

__all__ = ["HotLp", "LpSolution", "MipSolution", "RepricedBlocks", "basis_codes", "solve_kept",
           "solve_lp", "solve_mip", "write_model"]
