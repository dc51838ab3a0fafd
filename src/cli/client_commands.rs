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
    if is_npy(&command.input)
        && is_npy(&command.output)
        && let Some(header) = streamable_npy(&command.input)?
    {
        let params = filter_params(&command, command.axes.clone())?;
        return filter_npy_file(&command, header, params).await;
    }
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
    let params = filter_params(&command, axes)?;
    let bar = progress_bar(&command.client, tensor.nbytes() as u64, "filtering");
    let mut client = connect(&command.client, bar.as_ref()).await?;
    let result = client.apply(&tensor, &params).await?;
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

/// The operation's parameters of `command`, along `axes` (for an operation
/// that takes them); a flag the operation does not take is refused.
fn filter_params(command: &FilterCommand, axes: Vec<i32>) -> anyhow::Result<pb::OpParams> {
    use crate::filter::param_text::Param;
    let op = crate::ops::by_name(&command.op)
        .with_context(|| format!("unknown operation {:?}", command.op))?;
    let given = [
        (Param::Order, !command.order.is_empty()),
        (Param::Mode, !command.mode.is_empty()),
        (Param::Radius, !command.radius.is_empty()),
        (Param::Axes, !command.axes.is_empty()),
        (Param::Axis, command.axis.is_some()),
    ];
    if let Some((param, _)) = given
        .iter()
        .find(|(param, set)| *set && op.takes(*param).is_none())
    {
        anyhow::bail!(
            "{} does not take --{param}; it takes {}",
            op.name,
            op.param_names(true).join(", ")
        );
    }
    let axes = match command.axis {
        Some(axis) => vec![axis],
        None if op.takes(Param::Axes).is_some() => axes,
        None => vec![],
    };
    let common = pb::GaussianParams {
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
        exp: crate::proto::kernel_exp_to_wire(crate::filter::param_text::kernel_exp(&command.exp)?),
        ..Default::default()
    };
    Ok(op.to_wire(common)?)
}

/// Most bytes read to find a `.npy` header (NumPy writes a few hundred).
const NPY_HEADER_PROBE: u64 = 1 << 20;

/// The header of a `.npy` file whose data can go to the server as it is on
/// disk (C order, little-endian, exactly as long as its shape says), or
/// `None` for anything else, which the in-memory path reads and explains.
fn streamable_npy(path: &Path) -> anyhow::Result<Option<npy::NpyHeader>> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let len = file.metadata()?.len();
    let mut probe = Vec::new();
    file.take(NPY_HEADER_PROBE)
        .read_to_end(&mut probe)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let Ok(Some(header)) = npy::read_npy_header(&probe) else {
        return Ok(None);
    };
    let limits = TensorLimits {
        max_rank: 64,
        max_bytes: u64::MAX,
    };
    let Ok(valid) = crate::tensor::validate_shape(header.dtype, &header.shape, &limits) else {
        return Ok(None);
    };
    let exact = len.checked_sub(header.data_offset as u64) == Some(valid.nbytes as u64);
    Ok((header.is_native() && exact).then_some(header))
}

/// Filters a `.npy` file into a `.npy` file in pieces: the input is read
/// and sent, and the result received and written, at the same time, so the
/// file may be larger than memory. A partial output is removed on failure.
async fn filter_npy_file(
    command: &FilterCommand,
    header: npy::NpyHeader,
    params: pb::OpParams,
) -> anyhow::Result<()> {
    let result = stream_npy_file(command, &header, params).await;
    if result.is_err() {
        let _ = std::fs::remove_file(&command.output);
    }
    result
}

async fn stream_npy_file(
    command: &FilterCommand,
    header: &npy::NpyHeader,
    params: pb::OpParams,
) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    let shape: Vec<usize> = header.shape.iter().map(|&d| d as usize).collect();
    let nbytes = shape.iter().product::<usize>() * header.dtype.itemsize();
    let input = &command.input;
    let mut file = tokio::fs::File::open(input)
        .await
        .with_context(|| format!("cannot read {}", input.display()))?;
    file.seek(std::io::SeekFrom::Start(header.data_offset as u64))
        .await?;
    // A read error ends the upload early (the server then refuses the
    // call); the error itself is kept to be reported instead.
    let failed = Arc::new(std::sync::Mutex::new(None::<std::io::Error>));
    let read_error = Arc::clone(&failed);
    let chunk = ClientOptions::default().chunk_bytes;
    let data = async_stream::stream! {
        loop {
            let mut piece = bytes::BytesMut::with_capacity(chunk);
            match file.read_buf(&mut piece).await {
                Ok(0) => break,
                Ok(_) => yield piece.freeze(),
                Err(e) => {
                    *read_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                    break;
                }
            }
        }
    };
    let bar = progress_bar(&command.client, nbytes as u64, "filtering");
    let mut client = connect(&command.client, bar.as_ref()).await?;
    let read_failure = || {
        failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .map(|e| anyhow::Error::new(e).context(format!("cannot read {}", input.display())))
    };
    let mut answer = match client
        .apply_pieces(header.dtype, &shape, &params, data)
        .await
    {
        Ok(answer) => answer,
        Err(e) => return Err(read_failure().unwrap_or_else(|| e.into())),
    };
    let output = &command.output;
    let cannot_write = || format!("cannot write {}", output.display());
    let mut out = tokio::io::BufWriter::with_capacity(
        1 << 20,
        tokio::fs::File::create(output)
            .await
            .with_context(cannot_write)?,
    );
    out.write_all(&npy::write_npy_header(answer.dtype, &answer.shape))
        .await
        .with_context(cannot_write)?;
    let widen = answer.dtype == crate::tensor::DType::BFloat16;
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let piece = match answer.next_piece().await {
            Ok(Some(piece)) => piece,
            Ok(None) => break,
            Err(e) => return Err(read_failure().unwrap_or_else(|| e.into())),
        };
        if widen {
            // bfloat16 (which NumPy lacks) is written as float32, as
            // `npy::write_npy` does; an element split across pieces waits.
            carry.extend_from_slice(&piece);
            let whole = carry.len() & !1;
            let mut wide = Vec::with_capacity(whole * 2);
            npy::widen_bfloat16(&carry[..whole], &mut wide);
            carry.drain(..whole);
            out.write_all(&wide).await.with_context(cannot_write)?;
        } else {
            out.write_all(&piece).await.with_context(cannot_write)?;
        }
    }
    out.flush().await.with_context(cannot_write)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
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
