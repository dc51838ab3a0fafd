//! What the client commands share: the connection to the server, the
//! progress bar, input files read whole or in pieces, answers written to
//! files piece by piece, and the stored tensors' `@ID` and handle JSON.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use bytes::Bytes;
use futures::Stream;
use indicatif::{ProgressBar, ProgressStyle};

use super::ClientArgs;
use crate::client::{Client, ClientOptions, FilterAnswer};
use crate::npy;
use crate::proto::pb;
use crate::tensor::{Tensor, TensorLimits};

/// Transfers at least this large get a progress bar.
const PROGRESS_MIN_BYTES: u64 = 4 << 20;

/// Most bytes read to find a `.npy` header (NumPy writes a few hundred).
const NPY_HEADER_PROBE: u64 = 1 << 20;

/// The limits of a tensor read from a local file: none but the format's.
const FILE_LIMITS: TensorLimits = TensorLimits {
    max_rank: 64,
    max_bytes: u64::MAX,
};

/// A progress bar for `total` bytes, or none when quiet, small or not a terminal.
pub(super) fn progress_bar(args: &ClientArgs, total: u64, what: &str) -> Option<ProgressBar> {
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

/// Connects to the server `args` name, with their key and deadline; `bar`
/// follows the client's uploads.
pub(super) async fn connect(
    args: &ClientArgs,
    bar: Option<&ProgressBar>,
) -> anyhow::Result<Client> {
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

/// The stored tensor an input names as `@ID`, or `None` for a file (a file
/// whose name starts with `@` is written `./@name`).
pub(super) fn stored_id(input: &Path) -> Option<&str> {
    input
        .to_str()?
        .strip_prefix('@')
        .filter(|id| !id.is_empty())
}

/// A stored tensor's handle as one line of JSON: `id`, `dtype` (its name),
/// `shape`, `nbytes`, `expires_in_ms`, as the gateway's `/v1/tensors` writes it.
pub(super) fn stored_json(stored: &pb::StoredTensor) -> String {
    let json = crate::json::answers::StoredJson::from(stored.clone());
    serde_json::to_string(&json).unwrap_or_default()
}

/// Whether `path` names a `.npy` file (by its extension).
pub(super) fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// The whole of a file.
pub(super) fn read_file(path: &Path) -> anyhow::Result<Bytes> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Bytes::from(bytes))
}

/// The tensor of a `.npy` file, read whole.
pub(super) fn read_npy_file(path: &Path) -> anyhow::Result<Tensor> {
    npy::read_npy(read_file(path)?, &FILE_LIMITS).with_context(|| format!("{}", path.display()))
}

/// An input file read whole: a `.npy` file's tensor, or an image decoded
/// (`image` then says so, and a filter of it defaults to its two spatial axes).
pub(super) struct WholeInput {
    /// The tensor.
    pub tensor: Tensor,
    /// Whether it was decoded from an image.
    pub image: bool,
}

/// Reads `path` whole: a `.npy` file by its extension, else an image.
pub(super) fn read_input(path: &Path) -> anyhow::Result<WholeInput> {
    if is_npy(path) {
        return Ok(WholeInput {
            tensor: read_npy_file(path)?,
            image: false,
        });
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tensor = crate::image::decode_to_tensor_hinted(
        &read_file(path)?,
        name.as_deref(),
        &Default::default(),
    )
    .with_context(|| format!("{}", path.display()))?;
    Ok(WholeInput {
        tensor,
        image: true,
    })
}

/// The header of a `.npy` file whose data can go to the server as it is on
/// disk (C order, little-endian, exactly as long as its shape says), or
/// `None` for anything else (another extension included), which the
/// in-memory path reads and explains.
pub(super) fn streamable_npy(path: &Path) -> anyhow::Result<Option<npy::NpyHeader>> {
    use std::io::Read;
    if !is_npy(path) {
        return Ok(None);
    }
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
    let Ok(valid) = crate::tensor::validate_shape(header.dtype, &header.shape, &FILE_LIMITS) else {
        return Ok(None);
    };
    let exact = len.checked_sub(header.data_offset as u64) == Some(valid.nbytes as u64);
    Ok((header.is_native() && exact).then_some(header))
}

/// An input file to upload: a `.npy` file sent from disk in pieces when it
/// can be ([`streamable_npy`]), else the file read whole.
pub(super) enum FileInput {
    /// A `.npy` file whose data goes as it is on disk.
    Npy {
        /// The file.
        path: PathBuf,
        /// Its header.
        header: npy::NpyHeader,
    },
    /// A file read whole (an image, or a `.npy` file to convert).
    Whole(WholeInput),
}

impl FileInput {
    /// Opens `path`: streamed if it is a streamable `.npy` file, else read.
    pub(super) fn open(path: &Path) -> anyhow::Result<FileInput> {
        Ok(match streamable_npy(path)? {
            Some(header) => FileInput::Npy {
                path: path.to_owned(),
                header,
            },
            None => FileInput::Whole(read_input(path)?),
        })
    }

    /// Bytes of the tensor's data.
    pub(super) fn nbytes(&self) -> u64 {
        match self {
            FileInput::Npy { header, .. } => {
                npy_shape(header).iter().product::<usize>() as u64 * header.dtype.itemsize() as u64
            }
            FileInput::Whole(input) => input.tensor.nbytes() as u64,
        }
    }

    /// Keeps the file's tensor in the server's store: its handle.
    pub(super) async fn put(&self, client: &mut Client) -> anyhow::Result<pb::StoredTensor> {
        match self {
            FileInput::Npy { path, header } => {
                let (data_of, data) = NpyData::open(path, header).await?;
                client
                    .put_pieces(header.dtype, &npy_shape(header), data)
                    .await
                    .map_err(|e| data_of.explain(e))
            }
            FileInput::Whole(input) => Ok(client.put(&input.tensor).await?),
        }
    }
}

/// The shape of a `.npy` header, as the client takes it.
pub(super) fn npy_shape(header: &npy::NpyHeader) -> Vec<usize> {
    header.shape.iter().map(|&d| d as usize).collect()
}

/// A streamable `.npy` file's data as it is read: a stream of pieces for an
/// upload, and where a read error is kept. A read error ends the stream
/// early (the server then refuses the call), and [`NpyData::explain`]
/// reports the read error instead of the refusal.
pub(super) struct NpyData {
    path: PathBuf,
    failed: Arc<Mutex<Option<std::io::Error>>>,
}

impl NpyData {
    /// Opens `path` at its data (`header` from [`streamable_npy`]): the
    /// handle, and the stream of its data in pieces of the client's size.
    pub(super) async fn open(
        path: &Path,
        header: &npy::NpyHeader,
    ) -> anyhow::Result<(NpyData, impl Stream<Item = Bytes> + Send + 'static)> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        file.seek(std::io::SeekFrom::Start(header.data_offset as u64))
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        let failed = Arc::new(Mutex::new(None::<std::io::Error>));
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
        let data_of = NpyData {
            path: path.to_owned(),
            failed,
        };
        Ok((data_of, data))
    }

    /// `error`, or the read error that caused it when reading the file failed.
    pub(super) fn explain(&self, error: impl Into<anyhow::Error>) -> anyhow::Error {
        match self.failed.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(read) => {
                anyhow::Error::new(read).context(format!("cannot read {}", self.path.display()))
            }
            None => error.into(),
        }
    }
}

/// Writes an answer of the server to `output` as its pieces arrive: a
/// `.npy` file in O(piece) memory (bfloat16 widened to float32, as
/// [`npy::write_npy`] does), or a PNG (any other extension) encoded once
/// the whole tensor is in. `bar`, when given, counts the bytes received.
/// A partial output is removed on failure.
pub(super) async fn write_answer(
    answer: &mut FilterAnswer,
    output: &Path,
    bar: Option<&ProgressBar>,
) -> anyhow::Result<()> {
    let result = if is_npy(output) {
        write_npy_answer(answer, output, bar).await
    } else {
        write_png_answer(answer, output, bar).await
    };
    if result.is_err() {
        let _ = std::fs::remove_file(output);
    }
    result
}

/// [`write_answer`] to a `.npy` file.
async fn write_npy_answer(
    answer: &mut FilterAnswer,
    output: &Path,
    bar: Option<&ProgressBar>,
) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
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
    // bfloat16 (which NumPy lacks) is written as float32, as
    // `npy::write_npy` does; an element split across pieces waits.
    let mut widener =
        (answer.dtype == crate::tensor::DType::BFloat16).then(npy::Bf16Widener::default);
    while let Some(piece) = answer.next_piece().await? {
        if let Some(bar) = bar {
            bar.inc(piece.len() as u64);
        }
        if let Some(widener) = &mut widener {
            let wide = widener.widen(&piece);
            out.write_all(&wide).await.with_context(cannot_write)?;
        } else {
            out.write_all(&piece).await.with_context(cannot_write)?;
        }
    }
    out.flush().await.with_context(cannot_write)?;
    Ok(())
}

/// [`write_answer`] to a PNG file: the tensor gathered, then encoded.
async fn write_png_answer(
    answer: &mut FilterAnswer,
    output: &Path,
    bar: Option<&ProgressBar>,
) -> anyhow::Result<()> {
    let mut data = bytes::BytesMut::with_capacity(answer.nbytes);
    while let Some(piece) = answer.next_piece().await? {
        if let Some(bar) = bar {
            bar.inc(piece.len() as u64);
        }
        data.extend_from_slice(&piece);
    }
    let shape: Vec<u64> = answer.shape.iter().map(|&d| d as u64).collect();
    let tensor = Tensor::new(answer.dtype, &shape, data.freeze(), &FILE_LIMITS)?;
    write_png(&tensor, output)
}

/// Encodes `tensor` as a PNG into `output`.
pub(super) fn write_png(tensor: &Tensor, output: &Path) -> anyhow::Result<()> {
    let encoded = crate::image::encode_png(tensor)
        .with_context(|| format!("cannot write {} as PNG", output.display()))?;
    std::fs::write(output, encoded).with_context(|| format!("cannot write {}", output.display()))
}
