//! A runnable example of the Rust client.
//!
//! Start a server (`cargo run --release -- serve`), then:
//!
//! ```sh
//! cargo run --release --example client -- http://127.0.0.1:50051
//! ```

use ndarray::{Array, Array3};
use tensorwire::client::{Client, ClientOptions};
use tensorwire::proto::pb;
use tensorwire::tensor::{Tensor, TypedArray};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let options = ClientOptions {
        // Uploads over 4 MiB go through the streaming RPCs on their own.
        stream_threshold: 4 << 20,
        timeout: Some(std::time::Duration::from_secs(60)),
        ..ClientOptions::default()
    };
    let mut client = Client::connect_with(&url, options).await?;

    // Any ndarray array becomes a tensor.
    let image: Array3<i32> = Array::from_shape_fn((768, 1024, 3), |(y, x, c)| {
        ((x * 7 + y * 13 + c * 101) % 256) as i32
    });
    let tensor = Tensor::from_array(&image.into_dyn());

    let info = client.describe(&tensor).await?;
    println!(
        "described {} {:?}: min {:?} max {:?} mean {:?}",
        info.dtype_name, info.shape, info.min, info.max, info.mean
    );

    // scipy.ndimage.gaussian_filter(image, 0.5), bit for bit.
    let params = pb::GaussianParams {
        sigma: vec![0.5],
        ..Default::default()
    };
    let smoothed = client.gaussian_filter(&tensor, &params).await?;
    if let TypedArray::Int32(array) = smoothed.to_array() {
        println!(
            "filtered: shape {:?}, first pixel {:?}",
            array.shape(),
            &array.as_slice().unwrap_or(&[])[..3.min(array.len())]
        );
    }

    // .npy bytes work too: tensorwire::npy::read_npy / write_npy.
    let npy = tensorwire::npy::write_npy(&smoothed);
    println!("result as .npy: {} bytes", npy.len());
    Ok(())
}
