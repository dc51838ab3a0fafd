//! One wrapper for HTTP bodies that watch their frames go by: the gRPC
//! layers count bytes, see the status in the trailers and reserve a message
//! from its prefix; the gateway ties a request's memory to its answer body
//! and drains a request body dropped unread. Each says only what it does
//! ([`FrameHook`]); the polling, the end of the stream and the size hint are
//! [`HookedBody`]'s.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use hyper::body::{Body, Frame, SizeHint};

/// What a [`HookedBody`] does as the frames of its inner body `B` pass, and
/// when the wrapper is dropped. Every method does nothing unless
/// implemented, so a hook that only needs to live as long as the body
/// implements none.
pub(crate) trait FrameHook<B: Body> {
    /// Sees each frame before it is passed on; an error is passed on in the
    /// frame's place.
    fn on_frame(&mut self, _frame: &Frame<B::Data>) -> Result<(), B::Error> {
        Ok(())
    }

    /// Runs when the inner body has ended: after its last frame, or when it
    /// failed (`failed`).
    fn on_end(&mut self, _failed: bool) {}

    /// Runs when the wrapper is dropped, with the inner body as it is then
    /// (read to its end or not); it is dropped after, unless taken.
    fn on_drop(&mut self, _inner: &mut B) {}
}

/// A body that passes on its inner body's frames, errors and size, showing
/// each frame, the end of the stream and its own drop to its hook; the hook
/// is dropped with the body.
#[derive(Debug)]
pub(crate) struct HookedBody<B: Body, H: FrameHook<B>> {
    inner: B,
    hook: H,
}

impl<B: Body, H: FrameHook<B>> HookedBody<B, H> {
    /// `inner`, watched by `hook`.
    pub(crate) fn new(inner: B, hook: H) -> HookedBody<B, H> {
        HookedBody { inner, hook }
    }
}

impl<B, H> Body for HookedBody<B, H>
where
    B: Body + Unpin,
    H: FrameHook<B> + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        Poll::Ready(match frame {
            Some(Ok(frame)) => Some(this.hook.on_frame(&frame).map(|()| frame)),
            Some(Err(error)) => {
                this.hook.on_end(true);
                Some(Err(error))
            }
            None => {
                this.hook.on_end(false);
                None
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: Body, H: FrameHook<B>> Drop for HookedBody<B, H> {
    fn drop(&mut self) {
        self.hook.on_drop(&mut self.inner);
    }
}
