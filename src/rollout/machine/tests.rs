//! The machine over every phase × every step result, single cases, then
//! whole rollouts driven by random results (proptest).

mod cases;
mod control;
mod fixtures;
mod random;
mod staging;
mod table;
