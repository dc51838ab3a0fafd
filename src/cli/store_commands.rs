//! The commands of the server's tensor store: `put` a file's tensor,
//! `get` one back into a file, `delete` one, list the caller's `tensors`.
//! A stored tensor belongs to the API key that put it; every command prints
//! handles as one JSON line each ([`stored_json`]).

use super::transfer::{FileInput, connect, progress_bar, stored_json, write_answer};
use super::{ClientArgs, DeleteCommand, GetCommand, PutCommand};

/// `tensorwire put FILE`: stores the file's tensor (a `.npy` file streamed
/// from disk in pieces, or an image decoded) and prints its handle.
pub async fn put(command: PutCommand) -> anyhow::Result<()> {
    let input = FileInput::open(&command.file)?;
    let bar = progress_bar(&command.client, input.nbytes(), "uploading");
    let mut client = connect(&command.client, bar.as_ref()).await?;
    let stored = input.put(&mut client).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    println!("{}", stored_json(&stored));
    Ok(())
}

/// `tensorwire get ID -o FILE`: writes the stored tensor to a `.npy` file
/// (or a PNG) as its pieces arrive.
pub async fn get(command: GetCommand) -> anyhow::Result<()> {
    let mut client = connect(&command.client, None).await?;
    let mut answer = client.get_pieces(&command.id).await?;
    let bar = progress_bar(&command.client, answer.nbytes as u64, "downloading");
    write_answer(&mut answer, &command.output, bar.as_ref()).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(())
}

/// `tensorwire delete ID`: deletes the stored tensor and prints what it was.
pub async fn delete(command: DeleteCommand) -> anyhow::Result<()> {
    let mut client = connect(&command.client, None).await?;
    println!("{}", stored_json(&client.delete(&command.id).await?));
    Ok(())
}

/// `tensorwire tensors`: the caller's stored tensors, least recently used
/// first, one handle a line.
pub async fn tensors(args: ClientArgs) -> anyhow::Result<()> {
    let mut client = connect(&args, None).await?;
    for stored in client.list().await? {
        println!("{}", stored_json(&stored));
    }
    Ok(())
}
