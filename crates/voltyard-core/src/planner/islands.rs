//! Island formation: which contiguous run of slots feeds each gun.
//!
//! Every gun that may be fed (active session, safe) owns its home slot. Islands of the previous plan
//! are kept, cut back only where a slot became the home slot of another active gun or blocked (the
//! home slot of an unsafe gun, which nobody may use). Then guns whose island falls short of their
//! fair target grow, one neighbouring slot at a time: into a free slot (idle, not blocked), or into a
//! neighbour island's end slot when that island can spare it and still meet its own target. Each such
//! change interrupts the guns it touches (their contactors switch only at zero power), so it is made
//! only when it brings at least `min_gain_kw`: that is the hysteresis. Largest gain first; ties go to
//! the lower gun index, then to the clockwise side.

use super::model::Island;
use super::share::{at_most, water_level};

/// Growth rounds (see `Ring::grow`). Each round that moves a slot is followed by another; the
/// bound only guards the tick's time: were it reached, a plan might not be its own fixed point,
/// which a property test checks.
const MAX_ROUNDS: usize = 6;

/// What island formation reads, per gun or per slot.
pub struct Inputs<'a> {
    /// Each gun's home slot.
    pub home: &'a [usize],
    /// Guns that may be fed: active session, safety and communication good.
    pub eligible: &'a [bool],
    /// Slots nobody may use: the home slots of unsafe guns.
    pub blocked: &'a [bool],
    /// Usable module power per slot.
    pub slot_kw: &'a [f64],
    /// What each gun could take, after connector derating.
    pub want_kw: &'a [f64],
    pub share_kw: f64,
    pub min_gain_kw: f64,
    /// Each gun's island in the previous plan.
    pub previous: Option<&'a [Option<Island>]>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Cw,
    Ccw,
}

struct Ring<'a> {
    inputs: &'a Inputs<'a>,
    n: usize,
    owner: Vec<Option<usize>>,
    islands: Vec<Option<Island>>,
    capacity: Vec<f64>,
}

/// A possible move: `slot` joins `gun`'s island on `side`, taken from `donor`'s island if any.
#[derive(Clone, Copy)]
struct Move {
    gain: f64,
    gun: usize,
    side: Side,
    slot: usize,
    donor: Option<usize>,
}

/// Each gun's island: `None` for guns that may not be fed.
pub fn form(inputs: &Inputs<'_>) -> Vec<Option<Island>> {
    let mut ring = Ring::new(inputs);
    if let Some(previous) = inputs.previous {
        ring.keep(previous);
    }
    ring.grow();
    ring.islands
}

impl<'a> Ring<'a> {
    fn new(inputs: &'a Inputs<'a>) -> Self {
        let n = inputs.slot_kw.len();
        let guns = inputs.home.len();
        let mut ring = Self { inputs, n, owner: vec![None; n], islands: vec![None; guns], capacity: vec![0.0; guns] };
        for g in (0..guns).filter(|&g| inputs.eligible[g]) {
            let home = inputs.home[g];
            ring.owner[home] = Some(g);
            ring.islands[g] = Some(Island { start: home, len: 1 });
            ring.capacity[g] = inputs.slot_kw[home];
        }
        ring
    }

    fn free(&self, slot: usize) -> bool {
        self.owner[slot].is_none() && !self.inputs.blocked[slot]
    }

    fn next(&self, island: Island, side: Side) -> usize {
        match side {
            Side::Cw => (island.start + island.len) % self.n,
            Side::Ccw => (island.start + self.n - 1) % self.n,
        }
    }

    fn claim(&mut self, gun: usize, slot: usize, side: Side) {
        let island = self.islands[gun].as_mut().expect("only eligible guns claim slots");
        if side == Side::Ccw {
            island.start = slot;
        }
        island.len += 1;
        self.owner[slot] = Some(gun);
        self.capacity[gun] += self.inputs.slot_kw[slot];
    }

    /// `slot` leaves `gun`'s island from its end on `side` of the island.
    fn release(&mut self, gun: usize, slot: usize, side: Side) {
        let n = self.n;
        let island = self.islands[gun].as_mut().expect("only eligible guns own slots");
        match side {
            Side::Ccw => {
                debug_assert_eq!(island.start, slot);
                island.start = (island.start + 1) % n;
            }
            Side::Cw => debug_assert_eq!((island.start + island.len - 1) % n, slot),
        }
        island.len -= 1;
        self.owner[slot] = None;
        self.capacity[gun] -= self.inputs.slot_kw[slot];
    }

    /// Keeps each previous island, walking out from the home slot and stopping at the first slot
    /// that is no longer free, so that what is kept stays contiguous.
    fn keep(&mut self, previous: &[Option<Island>]) {
        for g in 0..self.islands.len() {
            let (true, Some(Some(prev))) = (self.inputs.eligible[g], previous.get(g)) else { continue };
            let home = self.inputs.home[g];
            if prev.len > self.n || !prev.contains(home, self.n) {
                continue;
            }
            let offset = (home + self.n - prev.start) % self.n;
            for k in offset + 1..prev.len {
                let slot = (prev.start + k) % self.n;
                if !self.free(slot) {
                    break;
                }
                self.claim(g, slot, Side::Cw);
            }
            for k in (0..offset).rev() {
                let slot = (prev.start + k) % self.n;
                if !self.free(slot) {
                    break;
                }
                self.claim(g, slot, Side::Ccw);
            }
        }
    }

    /// The slot `gun` could take on `side`, and from whom; None when there is none worth taking.
    fn candidate(&self, gun: usize, side: Side) -> Option<(usize, Option<usize>)> {
        let island = self.islands[gun]?;
        if island.len >= self.n {
            return None;
        }
        let slot = self.next(island, side);
        if self.inputs.blocked[slot] || self.inputs.slot_kw[slot] <= 0.0 {
            return None;
        }
        match self.owner[slot] {
            None => Some((slot, None)),
            Some(h) if h != gun && self.inputs.home[h] != slot => Some((slot, Some(h))),
            Some(_) => None,
        }
    }

    /// Each gun's fair target. A gun counts with all it wants while it may still grow, and with
    /// what its island reaches once it is `stuck` (short of its target with no move left).
    fn targets(&self, stuck: &[bool], scratch: &mut Vec<f64>) -> Vec<f64> {
        let inputs = self.inputs;
        let reachable = |g: usize| {
            let growable = self.candidate(g, Side::Cw).is_some() || self.candidate(g, Side::Ccw).is_some();
            match (inputs.eligible[g], growable && !stuck[g]) {
                (false, _) => 0.0,
                (true, true) => inputs.want_kw[g],
                (true, false) => inputs.want_kw[g].min(self.capacity[g]),
            }
        };
        let level = water_level((0..self.islands.len()).map(reachable), inputs.share_kw, scratch);
        (0..self.islands.len()).map(|g| if inputs.eligible[g] { inputs.want_kw[g].min(level) } else { 0.0 }).collect()
    }

    fn best_move(&self, target: &[f64]) -> Option<Move> {
        let min_gain = self.inputs.min_gain_kw;
        let mut best: Option<Move> = None;
        for gun in (0..self.islands.len()).filter(|&g| self.inputs.eligible[g]) {
            let deficit = target[gun] - self.capacity[gun];
            if deficit <= 0.0 || deficit < min_gain {
                continue;
            }
            for side in [Side::Cw, Side::Ccw] {
                let Some((slot, donor)) = self.candidate(gun, side) else { continue };
                let slot_kw = self.inputs.slot_kw[slot];
                if donor.is_some_and(|h| !at_most(target[h], self.capacity[h] - slot_kw)) {
                    continue; // the donor would fall below its own target
                }
                let gain = deficit.min(slot_kw);
                if gain > 0.0 && gain >= min_gain && best.is_none_or(|b| gain > b.gain) {
                    best = Some(Move { gain, gun, side, slot, donor });
                }
            }
        }
        best
    }

    /// Grows in rounds of passes. A pass moves slots, largest gain first, until no move is worth
    /// it; the guns it leaves short are then counted as stuck, at what their island reaches, which
    /// frees share for the others in the next pass. A round ends when a pass neither moves a slot
    /// nor sticks a gun. Being stuck is relative to the layout of the moment, so a round that moved
    /// anything is followed by a fresh one; the growth ends with a round that moves nothing, which
    /// is what makes a plan its own fixed point. The bounds only guard the tick's time.
    fn grow(&mut self) {
        let mut scratch = Vec::new();
        let guns = self.islands.len();
        // A move strictly lowers the sum of positive deficits, so a pass ends.
        let max_moves = 2 * self.n + 1;
        for _ in 0..MAX_ROUNDS {
            let mut stuck = vec![false; guns];
            let mut round_moves = 0;
            // Every pass but the last of a round moves a slot or sticks a gun.
            for _ in 0..=guns + self.n {
                let target = self.targets(&stuck, &mut scratch);
                let mut moves = 0;
                while moves < max_moves {
                    let Some(m) = self.best_move(&target) else { break };
                    if let Some(donor) = m.donor {
                        // The slot is the donor's end that faces the growing island.
                        let donor_side = if m.side == Side::Cw { Side::Ccw } else { Side::Cw };
                        self.release(donor, m.slot, donor_side);
                    }
                    self.claim(m.gun, m.slot, m.side);
                    moves += 1;
                }
                round_moves += moves;
                let mut newly_stuck = false;
                for g in 0..guns {
                    if self.inputs.eligible[g] && !stuck[g] && !at_most(target[g], self.capacity[g]) {
                        stuck[g] = true;
                        newly_stuck = true;
                    }
                }
                if moves == 0 && !newly_stuck {
                    break;
                }
            }
            if round_moves == 0 {
                break;
            }
        }
    }
}
