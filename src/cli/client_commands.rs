//! The client commands that compute on the server: `describe`, `filter` and
//! `size`, through [`crate::client::Client`] (the input a file or, written
//! `@ID`, a tensor in the server's store), with a progress bar for large
//! transfers when stderr is a terminal.

use std::path::Path;

use anyhow::Context;

use super::transfer::{
    FileInput, NpyData, WholeInput, connect, is_npy, progress_bar, read_file, read_input,
    read_npy_file, stored_id, stored_json, streamable_npy, write_answer, write_png,
};
use super::{DescribeCommand, FilterCommand, SizeCommand};
use crate::proto::pb;

/// `tensorwire describe FILE.npy` or `tensorwire describe @ID`.
pub async fn describe(command: DescribeCommand) -> anyhow::Result<()> {
    let info = match stored_id(&command.file) {
        Some(id) => {
            let mut client = connect(&command.client, None).await?;
            client.describe_stored(id).await?
        }
        None => {
            let tensor = read_npy_file(&command.file)?;
            let bar = progress_bar(&command.client, tensor.nbytes() as u64, "uploading");
            let mut client = connect(&command.client, bar.as_ref()).await?;
            let info = client.describe(&tensor).await?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            info
        }
    };
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

/// Maps `reflect`, `grid-wrap`, ... to the proto enum, as every route
/// reads mode names ([`crate::filter::param_text::mode`]).
fn parse_mode(name: &str) -> anyhow::Result<i32> {
    Ok(crate::proto::mode_to_wire(crate::filter::param_text::mode(
        name,
    )?))
}

/// `tensorwire filter IN -o OUT --sigma S ...`: IN a file or `@ID` (a
/// stored tensor); with `--keep` instead of `-o`, the result stays in the
/// store and its handle is printed.
pub async fn filter(command: FilterCommand) -> anyhow::Result<()> {
    match (stored_id(&command.input), &command.output) {
        (Some(id), Some(output)) => filter_stored(&command, id, output).await,
        (Some(id), None) => {
            let params = filter_params(&command, command.axes.clone())?;
            let mut client = connect(&command.client, None).await?;
            println!("{}", stored_json(&client.apply_keep(id, &params).await?));
            Ok(())
        }
        (None, Some(output)) => filter_file(&command, output).await,
        (None, None) => filter_file_keep(&command).await,
    }
}

/// The axes to filter an input along: those given, else an image's two
/// spatial axes (not its channels), else all (none given).
fn input_axes(command: &FilterCommand, input: &WholeInput) -> Vec<i32> {
    if command.axes.is_empty() && input.image {
        crate::image::spatial_axes(&input.tensor)
            .into_iter()
            .map(|a| a as i32)
            .collect()
    } else {
        command.axes.clone()
    }
}

/// Filters a file into `output`: `.npy` to `.npy` in pieces when the file
/// allows ([`filter_npy_file`]), else read whole and sent (unary or
/// streamed by size), the result written as `.npy` or PNG.
async fn filter_file(command: &FilterCommand, output: &Path) -> anyhow::Result<()> {
    if is_npy(output)
        && let Some(header) = streamable_npy(&command.input)?
    {
        let params = filter_params(command, command.axes.clone())?;
        return filter_npy_file(command, &header, params, output).await;
    }
    let input = read_input(&command.input)?;
    let params = filter_params(command, input_axes(command, &input))?;
    let bar = progress_bar(&command.client, input.tensor.nbytes() as u64, "filtering");
    let mut client = connect(&command.client, bar.as_ref()).await?;
    let result = client.apply(&input.tensor, &params).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if is_npy(output) {
        std::fs::write(output, crate::npy::write_npy(&result))
            .with_context(|| format!("cannot write {}", output.display()))
    } else {
        write_png(&result, output)
    }
}

/// Filters the stored tensor `id` into `output`, the result written as its
/// pieces arrive.
async fn filter_stored(command: &FilterCommand, id: &str, output: &Path) -> anyhow::Result<()> {
    let params = filter_params(command, command.axes.clone())?;
    let mut client = connect(&command.client, None).await?;
    let mut answer = client.apply_stored_pieces(id, &params).await?;
    let bar = progress_bar(&command.client, answer.nbytes as u64, "filtering");
    write_answer(&mut answer, output, bar.as_ref()).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(())
}

/// `tensorwire filter FILE --keep`: puts the file, filters it on the
/// server into the store (printing the result's handle), and deletes the
/// stored input, whether the filter succeeded or not.
async fn filter_file_keep(command: &FilterCommand) -> anyhow::Result<()> {
    let input = FileInput::open(&command.input)?;
    let axes = match &input {
        FileInput::Whole(whole) => input_axes(command, whole),
        FileInput::Npy { .. } => command.axes.clone(),
    };
    let params = filter_params(command, axes)?;
    let bar = progress_bar(&command.client, input.nbytes(), "uploading");
    let mut client = connect(&command.client, bar.as_ref()).await?;
    let stored = input.put(&mut client).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let kept = client.apply_keep(&stored.id, &params).await;
    let deleted = client.delete(&stored.id).await;
    println!("{}", stored_json(&kept?));
    deleted
        .map(drop)
        .with_context(|| format!("cannot delete the stored input @{}", stored.id))
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

/// Filters a `.npy` file into a `.npy` file in pieces: the input is read
/// and sent, and the result received and written, at the same time, so the
/// file may be larger than memory. A partial output is removed on failure.
async fn filter_npy_file(
    command: &FilterCommand,
    header: &crate::npy::NpyHeader,
    params: pb::OpParams,
    output: &Path,
) -> anyhow::Result<()> {
    let shape = super::transfer::npy_shape(header);
    let nbytes = shape.iter().product::<usize>() * header.dtype.itemsize();
    let (data_of, data) = NpyData::open(&command.input, header).await?;
    let bar = progress_bar(&command.client, nbytes as u64, "filtering");
    let mut client = connect(&command.client, bar.as_ref()).await?;
    let mut answer = client
        .apply_pieces(header.dtype, &shape, &params, data)
        .await
        .map_err(|e| data_of.explain(e))?;
    write_answer(&mut answer, output, None)
        .await
        .map_err(|e| data_of.explain(e))?;
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
