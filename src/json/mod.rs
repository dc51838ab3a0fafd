//! Tensors as JSON numbers, for the clients that send and read plain JSON
//! (the Flask-era routes, `Accept: application/json`): a codec like
//! [`crate::npy`], with no HTTP in it.
//!
//! - [`list`]: a nested list in a JSON body into a tensor, as
//!   `numpy.array(list)` reads it;
//! - `answers`: the service's other answers (a summary, an image's size,
//!   a stored tensor's handle) as the JSON the HTTP routes send;
//! - `document`: a tensor into `{"dtype", "shape", "data"}`, its data nested
//!   as `numpy.ndarray.tolist()` nests it.

pub(crate) mod answers;
pub(crate) mod document;
pub mod list;
