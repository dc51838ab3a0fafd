//! The client commands: `describe`, `filter` and `size`, each a call of the
//! server through [`crate::client::Client`], with a progress bar for large
//! transfers when stderr is a terminal.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};

use super::{ClientArgs, DescribeCommand, FilterCommand, SizeCommand};
use crate::client::{Client, ClientOptions};
use crate::npy;
use crate::proto::pb;
use crate::tensor::TensorLimits;

/// Transfers at least this large get a progress bar.
const PROGRESS_MIN_BYTES: u64 = 4 << 20;

/// A progress bar for `total` bytes, or none when quiet, small or not a terminal.
fn progress_bar(args: &ClientArgs, total: u64, what: &str) -> Option<ProgressBar> {
    if args.quiet || total < PROGRESS_MIN_BYTES || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    Some(bar)
}

async fn connect(args: &ClientArgs, bar: Option<&ProgressBar>) -> anyhow::Result<Client> {
    let progress = bar.map(|bar| {
        let bar = bar.clone();
        Arc::new(move |done: u64| bar.set_position(done)) as crate::client::ProgressFn
    });
    let options = ClientOptions {
        api_key: args.api_key.clone(),
        timeout: args.timeout_secs.map(std::time::Duration::from_secs),
        progress,
        ..ClientOptions::default()
    };
    Ok(Client::connect_with(&args.server, options).await?)
}

fn read_file(path: &Path) -> anyhow::Result<Bytes> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Bytes::from(bytes))
}

fn read_npy_file(path: &Path) -> anyhow::Result<crate::tensor::Tensor> {
    let limits = TensorLimits {
        max_rank: 64,
        max_bytes: u64::MAX,
    };
    npy::read_npy(read_file(path)?, &limits).with_context(|| format!("{}", path.display()))
}

/// `tensorwire describe FILE.npy`.
pub async fn describe(command: DescribeCommand) -> anyhow::Result<()> {
    let tensor = read_npy_file(&command.file)?;
    let bar = progress_bar(&command.client, tensor.nbytes() as u64, "uploading");
    let mut client = connect(&command.client, bar.as_ref()).await?;
    let info = client.describe(&tensor).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut line = format!(
        "{}: {} {:?} {} bytes",
        command.file.display(),
        info.dtype_name,
        info.shape,
        info.nbytes
    );
    if let (Some(min), Some(max), Some(mean)) = (info.min, info.max, info.mean) {
        line.push_str(&format!(" min {min} max {max} mean {mean}"));
    }
    println!("{line}");
    Ok(())
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Maps `reflect`, `grid-wrap`, ... to the proto enum, as every route
/// reads mode names ([`crate::filter::param_text::mode`]).
fn parse_mode(name: &str) -> anyhow::Result<i32> {
    Ok(crate::proto::mode_to_wire(crate::filter::param_text::mode(
        name,
    )?))
}

/// `tensorwire filter IN -o OUT --sigma S ...`.
pub async fn filter(command: FilterCommand) -> anyhow::Result<()> {
    let image_input = !is_npy(&command.input);
    let tensor = if image_input {
        let name = command
            .input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        crate::image::decode_to_tensor_hinted(
            &read_file(&command.input)?,
            name.as_deref(),
            &Default::default(),
        )
        .with_context(|| format!("{}", command.input.display()))?
    } else {
        read_npy_file(&command.input)?
    };
    let axes = if command.axes.is_empty() && image_input {
        // An image is filtered over its two spatial axes, not its channels.
        crate::image::spatial_axes(&tensor)
            .into_iter()
            .map(|a| a as i32)
            .collect()
    } else {
        command.axes.clone()
    };
    let params = pb::GaussianParams {
        sigma: command.sigma.clone(),
        order: command.order.clone(),
        mode: command
            .mode
            .iter()
            .map(|m| parse_mode(m))
            .collect::<anyhow::Result<_>>()?,
        cval: command.cval,
        truncate: command.truncate,
        radius: command.radius.clone(),
        axes,
        ..Default::default()
    };
    let bar = progress_bar(&command.client, tensor.nbytes() as u64, "filtering");
    let mut client = connect(&command.client, bar.as_ref()).await?;
    let result = client.gaussian_filter(&tensor, &params).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let encoded = if is_npy(&command.output) {
        npy::write_npy(&result)
    } else {
        crate::image::encode_png(&result)
            .with_context(|| format!("cannot write {} as PNG", command.output.display()))?
    };
    std::fs::write(&command.output, encoded)
        .with_context(|| format!("cannot write {}", command.output.display()))?;
    Ok(())
}

/// `tensorwire size IMAGE...`.
pub async fn size(command: SizeCommand) -> anyhow::Result<()> {
    let mut client = connect(&command.client, None).await?;
    for path in &command.images {
        let bytes = read_file(path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let info = client
            .image_size(bytes, &name)
            .await
            .with_context(|| format!("{}", path.display()))?;
        println!(
            "{}: {}×{} {}",
            path.display(),
            info.width,
            info.height,
            info.format
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scipy_mode_name() {
        for (name, mode) in [
            ("reflect", pb::Mode::Reflect),
            ("grid-wrap", pb::Mode::GridWrap),
            ("GRID_CONSTANT", pb::Mode::GridConstant),
            ("mirror", pb::Mode::Mirror),
        ] {
            assert_eq!(parse_mode(name).unwrap(), mode as i32);
        }
        assert!(
            parse_mode("sideways")
                .unwrap_err()
                .to_string()
                .contains("sideways")
        );
    }
}
